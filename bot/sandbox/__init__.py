from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox

__all__ = ["SlackDriver", "SlackSandbox"]
