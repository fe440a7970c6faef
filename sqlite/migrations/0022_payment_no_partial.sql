-- 0022_payment_no_partial: orders_payment_no holds only orders that have a
-- payment number. An order is created without one (''), and every entry
-- ('' , id) was written at the push and deleted again when the payment
-- set the number: two index writes an order for entries no query reads
-- (OrderByPaymentNo never looks an empty number up; its query says
-- payment_no <> '' so that SQLite may use this partial index).
DROP INDEX orders_payment_no;
CREATE INDEX orders_payment_no ON orders (merchant_id, payment_no) WHERE payment_no <> '';
