package sqlite

import (
	"sync"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's WAL file writes each frame in one pwrite instead of two.
//
// A COMMIT appends its group's pages to the WAL as frames, and SQLite
// writes a frame as two writes (walWriteOneFrame): its 24-byte header,
// then the page at the next offset. On this driver each write is a
// pwrite system call through libc's emulation: two an order of the
// ~11 the bench's COMMITs make, 8–28 µs an order of the writer
// (docs/benchmarks.md, changes 68 and 70). The write connection's WAL file
// is given a copy of its I/O methods (frameWriter) whose xWrite keeps a
// frame's header back and writes it with the page that follows it, in one
// call of the original xWrite from a buffer of both.
//
// What SQLite and its readers see is the same. The header is held only
// between the two writes of one frame: walFrames writes all of a
// group's frames before it appends any of them to the WAL index, which is
// where readers (and this connection's checkpoint) find frames, and every
// other call on the file (a read, a sync, a truncate, its size, a file
// control, its close) and any write that is not the page right after the
// header writes the held header first, as it was. A write that fails
// reports the failure as SQLite's own would: the page's write fails with
// its header's. The durability of a group is the syncer's fsync of the
// file after the COMMIT, which has written every frame by then.
//
// The methods are SQLite's C function pointers: on this driver, the
// address of a Go function value with the C function's arguments, which
// the transpiled code calls through (__ccgo_fp). Only the write
// connection's WAL file gets them; the readers' and the checkpointer's
// connections open the file with SQLite's own.

// walFrameHeader is the size of a WAL frame's header (WAL_FRAME_HDRSIZE);
// walHeader the WAL file's own header, written at offset 0.
const walFrameHeader, walHeader = 24, 32

// frameFile is a WAL file whose methods are frameMethods: its original
// methods, and a frame's header held back.
type frameFile struct {
	orig *sqlite3.Tsqlite3_io_methods
	held bool
	off  int64 // where the held header goes
	hdr  [walFrameHeader]byte
	buf  uintptr // C memory: a header, then the page written with it
	size int
}

var frameFiles struct {
	sync.Mutex
	files   map[uintptr]*frameFile                                        // by sqlite3_file
	methods map[*sqlite3.Tsqlite3_io_methods]*sqlite3.Tsqlite3_io_methods // original → frameMethods' copy
}

// holdFrameHeaders gives the WAL file of connection db the frame-writing
// methods, once; it reports whether the file has them. Nothing changes
// when the connection has no WAL open.
func holdFrameHeaders(tls *libc.TLS, db uintptr) bool {
	f := walFile(tls, db)
	if f == 0 {
		return false
	}
	file := (*sqlite3.Tsqlite3_file)(unsafe.Add(nil, f))
	orig := (*sqlite3.Tsqlite3_io_methods)(unsafe.Add(nil, file.FpMethods))
	frameFiles.Lock()
	defer frameFiles.Unlock()
	if _, ok := frameFiles.files[f]; ok {
		return true
	}
	if frameFiles.methods == nil {
		frameFiles.files = map[uintptr]*frameFile{}
		frameFiles.methods = map[*sqlite3.Tsqlite3_io_methods]*sqlite3.Tsqlite3_io_methods{}
	}
	if orig.FxWrite == cfunc(frameWrite) {
		return true // never: files has every file that has them
	}
	m, ok := frameFiles.methods[orig]
	if !ok {
		// C memory, never freed: files opened with it may outlive any store.
		p := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
		if p == 0 {
			return false
		}
		m = (*sqlite3.Tsqlite3_io_methods)(unsafe.Add(nil, p))
		*m = *orig
		m.FxClose = cfunc(frameClose)
		m.FxRead = cfunc(frameRead)
		m.FxWrite = cfunc(frameWrite)
		m.FxTruncate = cfunc(frameTruncate)
		m.FxSync = cfunc(frameSync)
		m.FxFileSize = cfunc(frameFileSize)
		m.FxFileControl = cfunc(frameFileControl)
		frameFiles.methods[orig] = m
	}
	frameFiles.files[f] = &frameFile{orig: orig}
	file.FpMethods = uintptr(unsafe.Pointer(m))
	return true
}

// walFile returns the WAL file (sqlite3_file) of connection db's main
// database, or 0 when it has none open.
func walFile(tls *libc.TLS, db uintptr) uintptr {
	zMain, err := libc.CString("main")
	if err != nil {
		return 0
	}
	defer libc.Xfree(tls, zMain)
	out := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(uintptr(0))))
	if out == 0 {
		return 0
	}
	defer libc.Xfree(tls, out)
	*(*uintptr)(unsafe.Add(nil, out)) = 0
	// The journal's file, which in WAL mode is the WAL's (sqlite3PagerJrnlFile).
	if sqlite3.Xsqlite3_file_control(tls, db, zMain, sqlite3.SQLITE_FCNTL_JOURNAL_POINTER, out) != sqlite3.SQLITE_OK {
		return 0
	}
	f := *(*uintptr)(unsafe.Add(nil, out))
	if f == 0 || (*sqlite3.Tsqlite3_file)(unsafe.Add(nil, f)).FpMethods == 0 {
		return 0
	}
	return f
}

// cfunc returns Go function fn as a C function pointer of the transpiled
// code: the function value's address (what ccgo's __ccgo_fp takes).
func cfunc(fn any) uintptr {
	return (*[2]uintptr)(unsafe.Pointer(&fn))[1]
}

// gofunc is C function pointer p as a Go function of type F.
func gofunc[F any](p uintptr) F {
	return *(*F)(unsafe.Pointer(&p))
}

type (
	xClose       = func(*libc.TLS, uintptr) int32
	xReadWrite   = func(*libc.TLS, uintptr, uintptr, int32, int64) int32
	xTruncate    = func(*libc.TLS, uintptr, int64) int32
	xSync        = func(*libc.TLS, uintptr, int32) int32
	xFileSize    = func(*libc.TLS, uintptr, uintptr) int32
	xFileControl = func(*libc.TLS, uintptr, int32, uintptr) int32
)

func frameFileOf(f uintptr) *frameFile {
	frameFiles.Lock()
	ff := frameFiles.files[f]
	frameFiles.Unlock()
	return ff
}

// flush writes the held header, if any.
func (ff *frameFile) flush(tls *libc.TLS, f uintptr) int32 {
	if !ff.held {
		return sqlite3.SQLITE_OK
	}
	ff.held = false
	toC(ff.buf, ff.hdr[:])
	return gofunc[xReadWrite](ff.orig.FxWrite)(tls, f, ff.buf, walFrameHeader, ff.off)
}

func frameWrite(tls *libc.TLS, f, p uintptr, n int32, off int64) int32 {
	ff := frameFileOf(f)
	write := gofunc[xReadWrite](ff.orig.FxWrite)
	if ff.held && off == ff.off+walFrameHeader && n > 0 {
		// The page after the held header: both at once.
		if !ff.grow(tls, walFrameHeader+int(n)) {
			if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
				return rc
			}
			return write(tls, f, p, n, off)
		}
		ff.held = false
		toC(ff.buf, ff.hdr[:])
		copy(cmem(ff.buf+walFrameHeader, int(n)), cmem(p, int(n)))
		return write(tls, f, ff.buf, walFrameHeader+n, ff.off)
	}
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if n == walFrameHeader && off >= walHeader && ff.grow(tls, walFrameHeader) {
		copy(ff.hdr[:], cmemCopy(p, walFrameHeader))
		ff.held, ff.off = true, off
		return sqlite3.SQLITE_OK
	}
	return write(tls, f, p, n, off)
}

// grow makes ff.buf hold at least n bytes; false when memory runs out.
func (ff *frameFile) grow(tls *libc.TLS, n int) bool {
	if n <= ff.size {
		return true
	}
	size := max(n, 2*ff.size, walFrameHeader+4096)
	p := libc.Xmalloc(tls, types.Size_t(size))
	if p == 0 {
		return false
	}
	if ff.buf != 0 {
		libc.Xfree(tls, ff.buf)
	}
	ff.buf, ff.size = p, size
	return true
}

func frameClose(tls *libc.TLS, f uintptr) int32 {
	ff := frameFileOf(f)
	rc := ff.flush(tls, f)
	frameFiles.Lock()
	delete(frameFiles.files, f)
	frameFiles.Unlock()
	if ff.buf != 0 {
		libc.Xfree(tls, ff.buf)
		ff.buf, ff.size = 0, 0
	}
	if rc2 := gofunc[xClose](ff.orig.FxClose)(tls, f); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}

func frameRead(tls *libc.TLS, f, p uintptr, n int32, off int64) int32 {
	ff := frameFileOf(f)
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return gofunc[xReadWrite](ff.orig.FxRead)(tls, f, p, n, off)
}

func frameTruncate(tls *libc.TLS, f uintptr, size int64) int32 {
	ff := frameFileOf(f)
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return gofunc[xTruncate](ff.orig.FxTruncate)(tls, f, size)
}

func frameSync(tls *libc.TLS, f uintptr, flags int32) int32 {
	ff := frameFileOf(f)
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return gofunc[xSync](ff.orig.FxSync)(tls, f, flags)
}

func frameFileSize(tls *libc.TLS, f, out uintptr) int32 {
	ff := frameFileOf(f)
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return gofunc[xFileSize](ff.orig.FxFileSize)(tls, f, out)
}

func frameFileControl(tls *libc.TLS, f uintptr, op int32, arg uintptr) int32 {
	ff := frameFileOf(f)
	if rc := ff.flush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return gofunc[xFileControl](ff.orig.FxFileControl)(tls, f, op, arg)
}

// toC copies b to C memory at p.
//
//go:noinline
func toC(p uintptr, b []byte) { copy(cmem(p, len(b)), b) }

// cmemCopy is cmem for a copy of constant length, which the compiler
// (go1.26) fails to build when it inlines it.
//
//go:noinline
func cmemCopy(p uintptr, n int) []byte { return cmem(p, n) }
