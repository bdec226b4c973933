"""Runnable experiments behind the lessons' questions (lessons 04-06)."""
