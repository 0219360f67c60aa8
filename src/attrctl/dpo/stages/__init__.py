"""DPO's stage CLIs."""
