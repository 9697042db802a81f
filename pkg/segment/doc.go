// Package segment models what a live packager publishes: HLS master and
// media playlists (parse, validate, render), the kinds of files that make up
// a rendition (playlists, init segments, media segments, parts) and the cache
// key of a request. It uses the standard library only.
package segment
