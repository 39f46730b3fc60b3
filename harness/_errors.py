"""The harness's exceptions.

HarnessError                 every error the harness raises on purpose
├── ServerError              the mock server is missing, refused a control call, or would not start
├── ScenarioError            a scenario file is invalid (in _scenario; also a ValueError)
├── ClientError              a client could not be installed, started or driven (bw driver: BwError)
│   └── StateUnknown         the client ran but could not say whether it is logged in
├── NoServerRunning          manual mode found no `sleepwalk serve` (in _manual)
└── ReportError              a report could not be read, rendered or written (in report)
    ├── ChromiumMissing      no Chromium to render it with
    └── ChromiumError        Chromium failed or timed out
ScenarioFailed (AssertionError)  a scenario ran but did not meet its expectation
"""

from __future__ import annotations

__all__ = ["ClientError", "HarnessError", "ScenarioFailed", "ServerError", "StateUnknown"]


class HarnessError(Exception):
    """Base of the harness's own errors."""


class ServerError(HarnessError):
    """The mock server is not there, refused a control call, or did not start."""


class ClientError(HarnessError):
    """A client could not be installed, started or driven."""


class StateUnknown(ClientError):
    """The client ran its commands but could not report its final state (the real CLI can die while asked)."""


class ScenarioFailed(AssertionError):
    """A scenario ran and did not meet its expectation; the message shows expected and observed side by side."""
