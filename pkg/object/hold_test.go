package object

import "testing"

// TestBudget: only bodies held by responses alone count; past the limit a
// new response of such a body is refused; eviction and admission while a
// response runs move the bytes in and out of the budget.
func TestBudget(t *testing.T) {
	b := NewBudget(250)
	mk := func() *Object { return NewComplete(Meta{Status: 200}, make([]byte, 100)) }
	cached, loose1, loose2, loose3 := mk(), mk(), mk(), mk()
	cached.Cached(+1)
	for range 3 {
		if err := cached.Pin(b); err != nil {
			t.Fatal(err)
		}
	}
	if b.Used() != 0 {
		t.Fatalf("a cached body counts %d", b.Used())
	}
	if loose1.Pin(b) != nil || loose1.Pin(b) != nil || loose2.Pin(b) != nil {
		t.Fatal("within the budget")
	}
	if b.Used() != 200 {
		t.Fatalf("two loose bodies (one pinned twice) count %d, want 200", b.Used())
	}
	if err := loose3.Pin(b); err != ErrOverBudget {
		t.Fatalf("a third loose body: %v", err)
	}
	cached.Cached(-1) // evicted while three responses send it: counted, not refused
	if b.Used() != 300 {
		t.Fatalf("after the eviction %d, want 300", b.Used())
	}
	other := mk()
	other.Cached(+1)
	if err := other.Pin(b); err != ErrOverBudget {
		t.Fatalf("a cached body nobody sends, with the budget spent: %v", err)
	}
	if err := cached.Pin(b); err != nil {
		t.Fatalf("a body already being sent: %v", err)
	}
	cached.Unpin()
	for range 3 {
		cached.Unpin()
	}
	loose2.Cached(+1) // admitted while being sent
	loose1.Unpin()
	loose1.Unpin()
	if b.Used() != 0 {
		t.Fatalf("after every loose response ended: %d", b.Used())
	}
	loose2.Unpin()
	loose2.Cached(-1)
	if b.Used() != 0 {
		t.Fatalf("an evicted body nobody sends: %d", b.Used())
	}
}
