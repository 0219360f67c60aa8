"""DExperts' stage CLIs."""
