"""The register of devices, voiceprint groups and people, and the audit log."""
