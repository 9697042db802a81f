//go:build !linux

package object

import "errors"

func newFileMem([]byte) (*fileMem, error) {
	return nil, errors.New("object: body files need Linux (memfd); kept on the heap")
}

func unmapClose(int, []byte) {}
