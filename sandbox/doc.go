// Package sandbox is baoguan's built-in payment channel and customs port for
// sandbox merchants, test endpoints and `baoguan bench`.
//
// Nothing here talks to a bank or to customs. Instead every answer is a pure
// function of the request and of the time the caller injects (r.Now), so
// that:
//
//   - a merchant integrating against the sandbox can provoke each outcome on
//     purpose, by choosing an order number suffix or a payer ID number (the
//     rules are listed in docs/sandbox.md);
//   - the job runner may repeat any call after a crash or restart and get the
//     same payment number, refund number, customs reference and verification
//     trade id as the first time, which is what the PaymentChannel and
//     CustomsPort contracts ask of every implementation;
//   - tests and benchmarks need no sleeping and no shared state.
//
// The sandbox keeps no memory between calls: "heals on retry" rules read the
// attempt counters the core passes in, and the customs delay is measured
// from the declaration's SubmittedAt.
package sandbox
