// Clock bridge for Node clients (real-cli.md §7.2), loaded with NODE_OPTIONS="--require <this file>".
//
// Shifts the wall clock that JavaScript code sees through `Date` by an offset in milliseconds read from the file
// named by SLEEPWALK_CLOCK_OFFSET_FILE. The file is read again on every clock reading, so a rewrite reaches a
// running process at its very next `Date.now()`. The harness replaces the file atomically (temporary file, then
// rename), so a reader sees the old or the new offset, never half of one; a missing, empty or garbled file means
// no offset. Only "now" moves: `Date` with arguments, `Date.parse`, `Date.UTC`, `instanceof`, the prototype and
// subclasses behave as before, and the monotonic clocks (`performance.now`, `process.hrtime`) stay real, as they
// do across a real suspend.
'use strict';

(function installClockBridge() {
  const offsetFile = process.env.SLEEPWALK_CLOCK_OFFSET_FILE;
  if (!offsetFile) {
    return;
  }
  const fs = require('fs');
  const RealDate = Date;
  const realNow = RealDate.now;
  const realToString = Function.prototype.toString.bind(RealDate);

  function offsetMillis() {
    let text;
    try {
      text = fs.readFileSync(offsetFile, 'utf8').trim();
    } catch (error) {
      return 0;
    }
    if (text === '') {
      return 0;
    }
    const value = Number(text);
    // Date.now() must stay an integer, whatever the file says.
    return Number.isFinite(value) ? Math.round(value) : 0;
  }

  function shiftedNow() {
    return realNow() + offsetMillis();
  }

  // A named function so that `Date.now.name` stays "now".
  const now = { now() { return shiftedNow(); } }.now;

  const ShiftedDate = new Proxy(RealDate, {
    // `new Date()` (and `super()` in a subclass) without arguments means "now"; any argument is passed through.
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [shiftedNow()] : args, newTarget);
    },
    // `Date(...)` called as a function ignores its arguments and returns the current time as a string.
    apply(target) {
      return new target(shiftedNow()).toString();
    },
    get(target, property, receiver) {
      if (property === 'now') {
        return now;
      }
      if (property === 'toString') {
        return realToString;
      }
      return Reflect.get(target, property, receiver);
    },
  });

  // Instances find their constructor through the prototype; point it at the wrapper so that
  // `new Date(1).constructor === Date` holds and `new value.constructor()` also means "shifted now".
  Object.defineProperty(RealDate.prototype, 'constructor', {
    value: ShiftedDate,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  globalThis.Date = ShiftedDate;
})();
