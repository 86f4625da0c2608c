"""What writes: the run folder and the order of its writes, its lock, atomic files,
curves.png and the progress display."""
