// Package dvr is the crash-safe on-disk store behind an event's DVR
// window: immutable media segments and their init segments, kept for the
// event's window and byte budget, across crashes and restarts.
//
// # On-disk format
//
//	Dir/
//	  e-<event>/            one per event; bytes outside [A-Za-z0-9._-]
//	                        of the id written %XX (injective, never "..")
//	    log                 the index: an append-only log of records
//	    log.tmp             a compaction or creation under way (removed by Open)
//	    seg/
//	      0000000000000007  a body, named by its 16-hex-digit file number
//	      tmp-123456        a body being written (removed by Open)
//	  .drop-<n>-<n>/        an event being dropped (removed by Open)
//
// Body file names never depend on the event-relative path, so any path
// is safe on disk; Put still refuses absolute paths, "..", ".", empty
// elements, backslashes and control characters (ErrInvalid).
//
// The log starts with the 8 bytes "RSDVRLG1". Each record is framed as
//
//	uint32 LE  payload length (1..16 KiB)
//	uint32 LE  CRC-32C (Castagnoli) of the payload
//	payload    kind byte, then fields: uvarint numbers, varint times
//	           (Unix ns) and durations (ns), strings as uvarint length
//	           and bytes
//
// Kinds: put (file number, path, rendition, MSN, duration, PDT,
// discontinuity, map, content type, size), init (file number, path,
// content type, size), del (file number, path: an eviction or the end of
// an init segment), pin (name, from, to), unpin (name), policy (window,
// max bytes). A payload must decode exactly, with no bytes left over.
//
// # Crash safety
//
// A Put writes the body to seg/tmp-*, fsyncs it, renames it to its file
// number, fsyncs seg/, then appends its record to the log and fsyncs the
// log; it returns, and the entry becomes visible, only after that. So an
// acknowledged Put has a durable record and a durable, complete body. A
// crash earlier leaves a temp file or a body without a record: Open
// removes both. A crash during the append leaves a torn last record:
// Open replays the log up to the first record that is short, too long,
// fails its CRC or does not decode, truncates the log there (by
// rewriting it), and drops nothing before it. Records that decode but make
// no sense (a second put of a path, a del of something not stored) are
// skipped and counted. Then Open reconciles the index with seg/: a record
// whose body is missing or has the wrong size is dropped (and the segments
// naming a dropped init segment with it). Everything repaired is logged
// and counted in Store.Recovery.
//
// An eviction removes the entry from the index at once, appends a del
// record (with the next write of the event, or at once for another
// event's Put), and only after the record is durable unlinks the body; a
// crash in between brings the entry back at Open, or leaves an orphan body
// that Open removes. Pins and policies are records too.
//
// When a log holds at least max(1024, live) dead records, it is compacted:
// the live index is written as log.tmp, fsynced, renamed over log, and the
// directory fsynced; a crash leaves either log, both complete. A new event
// directory is created with the same rename, so a log without a valid
// header is not a crash artifact: Open refuses it rather than guess.
//
// A failed log write is truncated away before the next one; if that or an
// fsync fails, the event's log is marked unusable (Puts fail) until the
// next Open, since the kernel may have dropped the unsynced data.
//
// # Eviction
//
// Before a Put is admitted, victims are planned without changing
// anything: first the event's window (entries whose PDT is more than the
// window before the newest PDT of the event, the new one included), then
// the event's byte cap, then Config.MaxBytes taking from the event whose
// oldest evictable entry is oldest. Within a rendition entries go in MSN
// order; across renditions the oldest PDT goes first. The newest LiveKeep
// stored entries of each rendition and every entry overlapping a pin are
// never evicted. If the body cannot fit, Put fails with ErrFull and
// nothing changes. Init segments count toward the byte limits and leave
// with the last segment that names them.
//
// # Concurrency
//
// One RWMutex guards the in-memory index of every event; nothing does I/O
// while holding it, so Get, Open and Entries wait at most for another
// goroutine's in-memory update (microseconds), never for an fsync. A Put
// reserves its path, MSN and bytes under the lock, writes and fsyncs its
// body with no lock held (Puts of one event write bodies in parallel),
// then takes the event's log lock for the append and fsync, so the log
// appends of one event are serialized while other events proceed. Get
// opens the file after the lookup; if an eviction unlinked it in between,
// Get returns ErrNotFound, and a file already open stays readable.
//
// # Memory
//
// The index holds, per stored segment, a 96-byte entry, its path string,
// a slot in the event's path map and a pointer in its rendition's slice:
// BenchmarkIndexMemory measures 156 bytes per segment with 17-byte paths
// (about 140 plus the path's length). Renditions and content types are
// interned per event. A 6-hour event at 2-second segments and 5
// renditions (54,000 segments) costs about 8.5 MB.
package dvr
