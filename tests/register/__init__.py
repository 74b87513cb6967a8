"""Devices and voiceprint groups: creation, edit, deletion, lost answers, sync, quota."""
