// Package strictjson decodes a JSON body that comes from outside: exactly
// one value, no unknown fields, and no object that names a key twice at
// any depth. encoding/json alone keeps the last of two equal keys (and
// matches struct fields regardless of case), so
// {"prefix":"/live/ev1/","prefix":"/live/"} would mean "/live/" to the
// decoder and possibly "/live/ev1/" to whoever checked the body before.
// Keys are equal when they are after unescaping, ignoring case as
// encoding/json's field matching does (bytes.EqualFold).
//
// It uses the standard library only.
package strictjson
