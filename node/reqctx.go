package node

import (
	"context"
	"time"
)

// Budgets of the work a request starts: how long it may wait for others.
// A *fasthttp.RequestCtx is never a context.Context (it does not end when
// the client leaves, and it is recycled after the handler returns): work
// done for a request runs on requestContext, which also ends when the node
// stops. TestNoRequestCtxAsContext keeps it that way.
const (
	budgetAdmin   = 10 * time.Second // admin writes, fan-out and forwarding
	budgetControl = 5 * time.Second  // one node-to-node control call
)

// requestContext derives the context of one request's work from the node's
// run context, with budget.
func (n *running) requestContext(budget time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.ctx, budget)
}
