// Package segment models what a live packager publishes: HLS master and
// media playlists (parse, validate, render), MPEG-DASH MPDs (ParseMPD,
// MPD.Validate, MPD.AppendTo, and the segment URLs, availability times and
// file patterns an LL-DASH origin needs: MPD.Tracks, MPD.Files), the kinds
// of files that make up a rendition (playlists, init segments, media
// segments, parts) and the cache key of a request. It uses the standard
// library only.
package segment
