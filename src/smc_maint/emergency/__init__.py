"""Emergency maintenance: a journaled window (maintenance mode, trading halt, backup, work, restore)."""
