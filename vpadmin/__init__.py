"""vpadmin: a web dashboard for a team's Coze voiceprint groups."""

__version__ = "0.1.0"
