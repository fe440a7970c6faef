package core

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// payzero's automatic payment (§2) pays a merchant's orders from the bank
// cards the merchant bound in payzero's console, in the "funding" (垫资)
// mode agreed at onboarding. Before it schedules payments it checks those
// cards: none bound (50001), none with a signed agreement (50010), or
// recorded balances that cannot cover the orders (50056). The money itself
// is then taken from the funding account (Merchant.FundingBalance in the
// sandbox), which plays the part of the cards' real balance: when it is
// short, the order's payment fails, as payzero's 2.7 describes.

// PayzeroCard is a bank card a merchant bound for automatic payment, with
// the balance the merchant recorded for it. The card number is kept sealed
// with the other settings and shown masked.
type PayzeroCard struct {
	BankCode string `json:"bank_code"`
	AcctName string `json:"acct_name"`
	AcctNo   string `json:"acct_no"`
	// Signed says the card's quick-pay agreement is confirmed; an unsigned
	// card is bound but cannot pay.
	Signed bool `json:"signed"`
	// Balance is the "当前余额" the merchant recorded, in fen. baoguan only
	// compares it with what is to be paid; the merchant keeps it true.
	Balance int64 `json:"balance"`
}

// PayzeroFunding is a merchant's funding set-up for automatic payment.
type PayzeroFunding struct {
	Cards []PayzeroCard `json:"cards"`
	// Recorded is false when the merchant never recorded cards: a sandbox
	// merchant then pays from its sandbox funding account, shown as one
	// signed card of bank 999 whose balance is the account's.
	Recorded  bool      `json:"recorded"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Reasons of the automatic-payment funding errors, which payzero answers
// with its codes 50001, 50010, 50054 and 50056.
const (
	ReasonNoCard           = "no_card"            // 50001
	ReasonNoSignedCard     = "no_signed_card"     // 50010
	ReasonNothingToPay     = "nothing_to_pay"     // 50054 (from PayBatch)
	ReasonCardBalanceShort = "card_balance_short" // 50056
	ReasonFundingShort     = "funding_short"      // 50056 (from PayBatch)
)

// PayzeroFunding returns the merchant's bound cards.
func (s *Service) PayzeroFunding(ctx context.Context, m *baoguan.Merchant) (PayzeroFunding, error) {
	var f PayzeroFunding
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		f, err = payzeroFundingTx(tx, m.ID)
		return err
	})
	return f, err
}

func payzeroFundingTx(tx baoguan.Tx, merchantID int64) (PayzeroFunding, error) {
	var f PayzeroFunding
	ok, err := getJSON(tx, payzeroKey("cards", merchantID, ""), &f)
	if err != nil || ok {
		f.Recorded = ok
		return f, err
	}
	m, err := tx.Merchant(merchantID)
	if err != nil {
		return f, err
	}
	if m.Mode == baoguan.ModeSandbox {
		f.Cards = []PayzeroCard{{BankCode: PayzeroTestBank, AcctName: m.Name, Signed: true, Balance: m.FundingBalance}}
	}
	return f, nil
}

// SetPayzeroCards records the merchant's bound cards, replacing the earlier
// list (payzero's console, B.1; an operator's CLI or the merchant's API
// until baoguan has a console). An empty list means "no card": automatic
// payment then answers 50001. Errors: EINVALID naming the card field.
func (s *Service) SetPayzeroCards(ctx context.Context, m *baoguan.Merchant, cards []PayzeroCard) (PayzeroFunding, error) {
	f := PayzeroFunding{Cards: make([]PayzeroCard, 0, len(cards)), Recorded: true}
	for i, c := range cards {
		field := "cards[" + strconv.Itoa(i) + "]"
		if _, ok := PayzeroBanks[c.BankCode]; !ok {
			return f, &baoguan.Error{Code: baoguan.EINVALID, Field: field + ".bank_code", Reason: "bad_bank_code",
				Message: field + ".bank_code " + c.BankCode + " is not a bank code of payzero appendix A.5"}
		}
		no, err := checkCardNo(field+".acct_no", c.AcctNo)
		if err != nil {
			return f, err
		}
		c.AcctNo = no
		c.AcctName = strings.TrimSpace(c.AcctName)
		if c.AcctName == "" {
			return f, baoguan.FieldError(field+".acct_name", "%s.acct_name is required", field)
		}
		if c.Balance < 0 {
			return f, &baoguan.Error{Code: baoguan.EINVALID, Field: field + ".balance", Reason: "bad_amount", Message: field + ".balance must not be negative"}
		}
		f.Cards = append(f.Cards, c)
	}
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		f.UpdatedAt = tx.Now()
		return putJSON(tx, payzeroKey("cards", m.ID, ""), f)
	})
	return f, err
}

// checkFunding applies payzero's funding rules to an amount about to be
// scheduled for automatic payment.
func checkFunding(f PayzeroFunding, need int64) error {
	if len(f.Cards) == 0 {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNoCard,
			Message: "未找到支持的银行卡和协议，可能与垫资模式的设置不正确有关"}
	}
	var balance int64
	signed := false
	for _, c := range f.Cards {
		if c.Signed {
			signed = true
			balance += c.Balance
		}
	}
	if !signed {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNoSignedCard, Message: "未找到已签约的银行卡进行支付"}
	}
	if balance < need {
		return &baoguan.Error{Code: baoguan.EINSUFFICIENT, Reason: ReasonCardBalanceShort,
			Message: "系统记录的银行卡当前额度可能无法支持支付本批次订单，请增加系统内银行卡额度并确保实际资金与额度大致匹配（记录余额 " +
				baoguan.FormatYuan(balance) + " 元，需支付 " + baoguan.FormatYuan(need) + " 元）"}
	}
	return nil
}

// PayzeroPayBatch triggers automatic payment of a batch (payzero 2.2): it
// checks the merchant's cards against the orders still to pay, then has
// PayBatch schedule them. It returns how many orders were scheduled.
// Errors: ENOTFOUND (batch); ESTATE reason no_card (50001),
// no_signed_card (50010) or nothing_to_pay (50054); EINSUFFICIENT reason
// card_balance_short or funding_short (50056).
func (s *Service) PayzeroPayBatch(ctx context.Context, m *baoguan.Merchant, id int64) (int, error) {
	var f PayzeroFunding
	var need int64
	todo := 0
	err := s.View(ctx, func(tx baoguan.Tx) error {
		if _, err := tx.Batch(m.ID, id); err != nil {
			return err
		}
		var err error
		if f, err = payzeroFundingTx(tx, m.ID); err != nil {
			return err
		}
		page := baoguan.OrderFilter{MerchantID: m.ID, BatchID: id, Page: baoguan.Page{Limit: 1000}}
		for {
			os, err := tx.ListOrders(page)
			if err != nil {
				return err
			}
			for _, o := range os {
				if o.PayStatus == baoguan.PayNotPayed || o.PayStatus == baoguan.PayFailed {
					todo++
					if o.Channel == baoguan.ChannelAuto {
						need += o.Amount
					}
				}
			}
			if len(os) < page.Limit {
				return nil
			}
			page.Cursor = os[len(os)-1].ID
		}
	})
	if err != nil {
		return 0, err
	}
	if err := checkFunding(f, 0); err != nil {
		return 0, err
	}
	if todo == 0 {
		return 0, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNothingToPay, Message: "没有需要被分配执行的订单"}
	}
	if err := checkFunding(f, need); err != nil {
		return 0, err
	}
	return s.PayBatch(ctx, m, id)
}

// PayzeroCreateAndPay creates one order for automatic payment (payzero
// 2.6): validated first, then the merchant's cards are checked against its
// amount, then it is stored with its pay job. Errors: those of CreateOrder,
// and the funding errors of PayzeroPayBatch (50001, 50010, 50056).
func (s *Service) PayzeroCreateAndPay(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	in.Order.Channel = baoguan.ChannelAuto
	if _, err := s.prepareOrder(m, &in); err != nil {
		return nil, false, err
	}
	f, err := s.PayzeroFunding(ctx, m)
	if err != nil {
		return nil, false, err
	}
	if err := checkFunding(f, in.Order.Amount); err != nil {
		return nil, false, err
	}
	return s.CreateOrder(ctx, m, in)
}
