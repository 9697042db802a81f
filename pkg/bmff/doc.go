// Package bmff reads the ISO base media file format (ISO/IEC 14496-12) as
// a live CMAF packager needs it: what an init segment says about its
// tracks, and where the movie fragments of a media segment begin and end
// while the segment is still arriving. It uses the standard library only.
//
// # Init segments
//
// ParseInit reads ftyp and moov and returns, per trak: track ID, handler
// (HandlerVideo, HandlerAudio, ...), media timescale (mdhd), language,
// display size (tkhd, else the sample entry), audio sample rate and
// channel count, the trex defaults that fragments fall back on, and the
// RFC 6381 codecs parameter built from the sample entry's configuration:
// avc1/avc3 from avcC, hvc1/hev1 from hvcC (ISO/IEC 14496-15 Annex E),
// av01 from av1C, vp09 from vpcC, mp4a.40.N from the esds
// AudioSpecificConfig (mp4a.XX for other object types), "opus", "ac-3",
// "ec-3", "flac"; any other sample entry gives its fourcc. Encrypted
// entries (encv, enca) are named by their original format (sinf/frma).
// Only the first sample entry of a track is read.
//
// # Fragments of a stream
//
// A Scanner is an io.Writer for one media stream (one segment, usually
// an HTTP upload teed into it). It calls back with a Fragment the moment
// the last byte of the fragment's mdat is written, whatever the sizes of
// the writes. A fragment is the moof, its mdat and every box since the
// previous fragment (styp, sidx, prft, emsg, free, ...), so the fragments
// of a segment tile it: LL-HLS parts can be byte ranges of the segment.
// ftyp, moov, mfra and meta at the top level belong to no fragment (an
// init segment sent ahead of the media is allowed).
//
// For each traf a Fragment gives the tfdt decode time, the sample count,
// the summed sample duration (per-sample trun durations, else the tfhd
// default, else the trex default) and whether the first sample is a sync
// sample (trun first-sample-flags, else its own sample flags, else the
// tfhd then trex default flags; sync unless sample_is_non_sync_sample is
// set or sample_depends_on is 1). Fragment.Independent is LL-HLS
// INDEPENDENT=YES. The mfhd sequence number and the last prft before the
// moof (wall-clock time of a media time) come along.
//
// # Limits
//
// The scanner keeps the 16-byte header of the current box, the body of
// the current moof (and of a prft) and a few counters; mdat payload and
// other boxes are counted and dropped, never buffered. Config bounds the
// rest: a top-level box (mdat included) at most MaxBoxSize (1 GiB), a moof
// or other non-media box at most MaxMoofSize (1 MiB), at most MaxSamples
// (1e6) samples per fragment; a header that breaks a limit fails at once,
// before its body arrives. Parsers descend only the fixed paths they need
// (moof/traf/trun, moov/trak/mdia/minf/stbl/stsd/entry), so nesting depth
// is bounded by the code: a deeply nested box is skipped as one unknown
// child. Every size is checked against its parent, so nothing reads
// outside its box.
//
// A 64-bit largesize is accepted anywhere. Size 0 ("to the end of the
// file") is accepted for an init segment's last box; in a stream it means
// "until Close" for an mdat (its fragment is emitted by Close) or a
// skipped box, and is an error for a moof or prft. Close reports a box,
// header or fragment cut short.
//
// # Errors
//
// Every error wraps ErrMalformed, ErrTruncated or ErrLimit and names the
// box path and its byte offset, e.g.
// "bmff: moof/traf/trun at offset 68: 1000000000 samples in this fragment,
// more than the limit of 1000000". A Scanner's first error is sticky.
//
// # Not checked
//
// Sample data offsets and sizes are not checked against the mdat, so a
// fragment whose trun points outside its mdat is accepted; sample
// encryption (senc, saiz, saio), sample groups and emsg payloads are
// included in the byte ranges but not read.
package bmff
