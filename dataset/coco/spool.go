package coco

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// spoolMemory is how many bytes of annotation records a spool keeps in
// memory before it moves the rest to a temporary file; tests lower it.
var spoolMemory = 16 << 20

// spoolBlock is the size of the spool's memory blocks.
const spoolBlock = 1 << 20

// spool holds an annotation file's packed annotation records between the
// streaming pass and the emission of the items: the first spoolMemory bytes
// in 1 MiB blocks (no allocation or slice header per record), the rest in
// an unlinked temporary file. If no temporary file can be made, everything
// stays in memory.
type spool struct {
	blocks   [][]byte
	memBytes int
	file     *os.File
	w        *bufio.Writer // nil after get flushed it
	fileOff  int64
	noFile   bool // a temporary file could not be made
	buf      []byte
}

// spoolRef locates a record: in blocks[block] at off, or in the file at off
// when block is -1.
type spoolRef struct {
	off   int64
	n     int32
	block int32
}

func (s *spool) add(b []byte) (spoolRef, error) {
	if len(b) > 1<<30 {
		return spoolRef{}, errors.New("annotation larger than 1 GiB")
	}
	if s.memBytes+len(b) > spoolMemory && !s.noFile {
		if s.file == nil {
			f, err := os.CreateTemp("", "dsbuild-coco-*")
			if err != nil {
				s.noFile = true
				return s.addMem(b), nil
			}
			// Unlinked at once where the system allows it (not Windows),
			// so that nothing is left behind even if the process dies.
			os.Remove(f.Name())
			s.file, s.w = f, bufio.NewWriterSize(f, 256<<10)
		}
		if s.w == nil {
			// get flushed the writer; writes go on at the end of the file
			// (ReadAt does not move the offset).
			s.w = bufio.NewWriterSize(s.file, 256<<10)
		}
		ref := spoolRef{off: s.fileOff, n: int32(len(b)), block: -1}
		if _, err := s.w.Write(b); err != nil {
			return spoolRef{}, fmt.Errorf("temporary file: %w", err)
		}
		s.fileOff += int64(len(b))
		return ref, nil
	}
	return s.addMem(b), nil
}

func (s *spool) addMem(b []byte) spoolRef {
	s.memBytes += len(b)
	if len(b) > spoolBlock/4 {
		// A large record gets a block of its own.
		s.blocks = append(s.blocks, append([]byte(nil), b...))
		return spoolRef{n: int32(len(b)), block: int32(len(s.blocks) - 1)}
	}
	// The last block is the one being filled (a large record's block is
	// always full).
	n := len(s.blocks)
	if n == 0 || cap(s.blocks[n-1])-len(s.blocks[n-1]) < len(b) {
		s.blocks = append(s.blocks, make([]byte, 0, spoolBlock))
		n++
	}
	off := len(s.blocks[n-1])
	s.blocks[n-1] = append(s.blocks[n-1], b...)
	return spoolRef{off: int64(off), n: int32(len(b)), block: int32(n - 1)}
}

// get returns a record; the slice is valid until the next get.
func (s *spool) get(r spoolRef) ([]byte, error) {
	if r.block >= 0 {
		return s.blocks[r.block][r.off : r.off+int64(r.n)], nil
	}
	if s.w != nil {
		if err := s.w.Flush(); err != nil {
			return nil, fmt.Errorf("temporary file: %w", err)
		}
		s.w = nil
	}
	if cap(s.buf) < int(r.n) {
		s.buf = make([]byte, r.n)
	}
	b := s.buf[:r.n]
	if _, err := s.file.ReadAt(b, r.off); err != nil {
		return nil, fmt.Errorf("temporary file: %w", err)
	}
	return b, nil
}

// close removes the temporary file.
func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	s.blocks = nil
}

// Record framing: the fields of rawAnn but image_id, each as a uvarint
// length and the field's compact JSON.

func appendField(dst, field []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(field)))
	return append(dst, field...)
}

// splitRecord reads the fields back into r (the slices alias rec).
func splitRecord(rec []byte, r *rawAnn) error {
	for _, f := range []*[]byte{(*[]byte)(&r.ID), (*[]byte)(&r.CategoryID), (*[]byte)(&r.Iscrowd), (*[]byte)(&r.Bbox), (*[]byte)(&r.Segmentation)} {
		n, k := binary.Uvarint(rec)
		if k <= 0 || uint64(len(rec)-k) < n {
			return errors.New("corrupt annotation record")
		}
		*f = rec[k : k+int(n)]
		rec = rec[k+int(n):]
	}
	return nil
}
