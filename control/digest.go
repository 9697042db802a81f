package control

import (
	"crypto/sha256"
)

// checkDocs is how many of its latest documents a voter keeps for the
// checks until a check asks for their digest. A check names the entry the
// leader had applied last when it proposed the check, and the check entry
// follows it within the few entries already in flight, so the document a
// check asks for is among the latest few; keeping 256 covers bursts of
// writes, and costs memory only while writes come faster than checks.
const checkDocs = 256

// docDigest is one applied document and, once a check asked for it, the
// sha256 of its encoding. Digests are computed only for the entries checks
// name (one or two per CheckInterval), never on the write path: encoding
// a 50-event document costs about 0.1 ms, as much as applying a command.
type docDigest struct {
	doc  *Document // until the digest is computed or the document forgotten
	sum  [sha256.Size]byte
	done bool
}

// digest returns the document's digest, computing it the first time; false
// when the document was forgotten before any check asked for it.
func (d *docDigest) digest() ([sha256.Size]byte, bool, error) {
	if !d.done && d.doc != nil {
		sum, err := digestOf(d.doc)
		if err != nil {
			return sum, false, err
		}
		d.sum, d.done, d.doc = sum, true, nil
	}
	return d.sum, d.done, nil
}

// digestOf hashes doc as EncodeDocument encodes it. encoding/json sorts
// map keys and every replica holds the document in one normalized form, so
// equal documents have equal digests on every voter.
func digestOf(doc *Document) ([sha256.Size]byte, error) {
	b, err := EncodeDocument(doc)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// recentDocs hands out one docDigest per document and keeps the documents
// of the latest max of them.
type recentDocs struct {
	max    int
	curDoc *Document
	cur    *docDigest
	kept   []*docDigest // oldest first
}

// note returns doc's docDigest: the current one while doc is the current
// document, a new one when it changed (then the oldest kept document past
// max is forgotten).
func (r *recentDocs) note(doc *Document) *docDigest {
	if r.cur != nil && r.curDoc == doc {
		return r.cur
	}
	r.curDoc, r.cur = doc, &docDigest{doc: doc}
	r.kept = append(r.kept, r.cur)
	if len(r.kept) > r.max {
		r.kept[0].doc = nil
		r.kept = append(r.kept[:0], r.kept[1:]...)
	}
	return r.cur
}

// reset forgets every document (after a snapshot restore).
func (r *recentDocs) reset() {
	for _, d := range r.kept {
		d.doc = nil
	}
	r.kept, r.curDoc, r.cur = r.kept[:0], nil, nil
}
