// Package encoder runs a real ffmpeg that pushes a synthetic live event
// (test pattern and tone) into a Ringside ingest node over HTTP PUT, the way
// a production encoder would. The demo and the end-to-end tests use it.
//
// # HLS and low-latency DASH
//
// By default ffmpeg's hls muxer pushes a master playlist, a media playlist
// per rung and whole segments. With Config.LowLatency it pushes
// low-latency DASH/CMAF instead, which the node packages as LL-HLS
// itself: ffmpeg's dash muxer with -ldash 1 -streaming 1, the MPD to
// IngestBase/manifest.mpd (segment template, no timeline), the video rungs
// in adaptation set 0 and one AAC audio in set 1, x264 with -tune
// zerolatency. Every segment starts with a keyframe (GOP = FPS x
// SegmentSeconds) and is one chunked PUT lasting the segment, a CMAF
// fragment (moof+mdat) arriving every part. ffmpeg's -frag_duration is
// not the part target: the mov muxer ends a fragment before the first
// packet at least -frag_duration in, so fragments are rounded up to whole
// frames (0.512 s of 48 kHz AAC, 0.533 s of 15 fps video for 0.5), and a
// segment's last fragment is what is left of it. Args sets it just under
// a frame boundary so that no fragment is longer than PartTarget nor
// shorter than 85% of it, with the longest last fragment (at 30 fps and
// 0.5 s: 0.433 s of video, 0.427 s of audio, last ones of 0.27-0.3 s;
// hls.js can stall on a last part of one or two AAC frames).
// No -write_prft: ffmpeg 5.1 writes it only with -utc_timing_url, which
// then also becomes the MPD's UTCTiming for players, and the node serves
// no such clock (see dashArgs).
//
// # The stream key
//
// The node wants "Authorization: Bearer KEY" on every upload. Any local
// user can read a process's command line (ps, /proc/PID/cmdline), so the
// key must not be an argument (-headers). Instead, Run gives ffmpeg the
// arguments "-fpre /dev/fd/3" and, as file descriptor 3, the read end of a
// pipe holding one preset line, "headers=Authorization: Bearer KEY", whose
// write end is closed before ffmpeg starts. ffmpeg applies a preset's
// key=value lines like command-line options (fftools opt_preset, then
// opt_default, the path -headers takes too), so the hls muxer sends the
// header on every request: segments, playlists, the master, DELETEs, on
// persistent or separate connections alike. Traffic to the node is exactly
// what it was with -headers. The key is never on disk, nor in ffmpeg's
// command line or environment; ffmpeg drains the pipe while parsing its
// options, so afterwards the key is only in its memory, which, like
// /proc/PID/environ or /proc/PID/fd, only its user and root can read.
// Side effect: a preset value cannot end in CRLF, so ffmpeg adds it and
// warns "No trailing CRLF found in HTTP header" on each request; Run drops
// that line from the stderr it keeps for its errors. Validate limits the
// key to printable ASCII (no header injection) that fits ffmpeg's preset
// line buffer.
//
// The dash muxer has no headers option: ffmpeg accepts -headers with it
// but sends no header on its uploads (measured). It passes its http_opts
// dictionary to every request it makes, so in low-latency mode the preset
// line is "http_opts=headers='Authorization: Bearer KEY'", quoted for
// ffmpeg's dictionary parser (see presetLine). With Debian's ffmpeg 5.1
// the header is on every init segment, segment and MPD PUT and every
// DELETE, on persistent and separate connections; a key holding ', \, :
// or = arrives intact.
//
// A loopback forward proxy that adds the key (ffmpeg's http_proxy with a
// credential in the environment) was built and rejected, for what ffmpeg
// 5.1 does. It honours http_proxy for PUT and DELETE, but sends
// Proxy-Authorization only after a 407, and an upload never reads the
// answer before streaming its body (no Expect: 100-continue unless
// send_expect_100, an option the hls muxer does not pass on), so it never
// sees a 407 and sends no credential. Admitting only connections whose
// client socket ffmpeg holds (/proc/net/tcp, /proc/PID/fd) fails for the
// connections ffmpeg closes right after writing (every DELETE, and every
// upload with Persistent off): once closed, the socket has no owner left
// to check, and admitting such connections would let any local user publish
// with the key.
package encoder
