package baoguan

// PayFlow is how a payment mode moves money, which decides the adapter the
// core asks and how the payment ends. Every flow ends in the same place:
// the channel's PayResult is recorded on the order with its event and the
// declarations it queues.
type PayFlow int

const (
	// FlowAtOnce: PaymentChannel.Pay answers the outcome (mock, auto,
	// external). A scanned payer code (the MICRO mode to come, with the
	// payer's auth_code) is this flow too; a channel that answers
	// PAY_APPLIED for it ("user paying") is asked again by the pay job.
	FlowAtOnce PayFlow = iota
	// FlowCard: PaymentChannel.Pay applies for the payment by a card
	// agreement and the bank sends the payer an SMS code (PAY_APPLIED);
	// CompletingChannel.Complete with the code pays (quick).
	FlowCard
	// FlowCollect: CollectChannel.Collect issues a code the payer pays on
	// their own device (PAY_APPLIED until paid); the outcome arrives by
	// CompletingChannel.Complete (the sandbox page) or the channel's
	// callback (qr). The wallet modes to come — NATIVE code_url, JSAPI,
	// mini-program and app parameters, WAP and cashier pages — are this
	// flow, each a Kind of CollectRequest.
	FlowCollect
)

// Flow says how a payment mode moves money. New modes are added to
// Channel's constants and here, and need no other special case.
func (c Channel) Flow() PayFlow {
	switch c {
	case ChannelQuick:
		return FlowCard
	case ChannelQR:
		return FlowCollect
	}
	return FlowAtOnce
}
