package object

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// newFileMem copies body into a new memfd, seals it and maps it read-only.
func newFileMem(body []byte) (*fileMem, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("object: empty body kept on the heap")
	}
	fd, err := unix.MemfdCreate("ringside-body", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("object: memfd_create: %w", err)
	}
	for off := 0; off < len(body); {
		n, err := unix.Pwrite(fd, body[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("object: writing body file: %w", err)
		}
		off += n
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("object: sealing body file: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, len(body), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("object: mapping body file: %w", err)
	}
	return &fileMem{fd: fd, mem: mem, size: pages(len(body))}, nil
}

func unmapClose(fd int, mem []byte) {
	unix.Munmap(mem)
	unix.Close(fd)
}
