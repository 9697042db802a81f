// Package object is the unit every tier hands to the HTTP layer: one file's
// response metadata, fixed when the object is made, and a body that may still
// be arriving. Any number of readers can follow the body while one writer
// appends to it (read-while-writer), each on its own context, without
// polling: a write wakes every waiting reader.
package object
