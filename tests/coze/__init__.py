"""The Coze client, the bundled simulator, the official SDK against it, and faults."""
