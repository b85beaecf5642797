package sqlite

import (
	"os"
	"syscall"
)

// datasync flushes f's data and size to disk, not its timestamps.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
