"""Running vpadmin: servers, commands, logs."""
