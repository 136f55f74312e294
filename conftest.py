"""The conformance suite's pytest plugin: options (--driver, --lab, --inventory,
--allow-disruptive), the driver and session fixtures, and the HTML/JUnit report.
It lives in drivers/pytest_plugin.py."""

pytest_plugins = ["drivers.pytest_plugin"]
