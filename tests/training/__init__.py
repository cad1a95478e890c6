"""The slow tier: every framing trained for real, judged and compared with its baseline."""
