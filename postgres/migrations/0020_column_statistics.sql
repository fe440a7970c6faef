-- 0020_column_statistics: ANALYZE gathers statistics only for the columns
-- of the busy tables that queries filter, join or sort on. The planner
-- needs none for the rest (amounts, sealed payer data, JSON, bodies,
-- answers, unique keys: read or matched exactly, never estimated), and
-- computing them was most of what an ANALYZE of these tables cost: orders
-- has 45 columns, and each analyzed column's sample is sorted. On a server
-- without autovacuum the store analyzes these tables itself each time they
-- double while they grow (postgres/maintain.go), beside the pushes and
-- batch uploads that make them grow. A column set to 0 is skipped (and no
-- sample of its values is kept in pg_statistic); the others keep the
-- server's default statistics target, but for the events table's: a queue
-- of wide rows (sealed bodies inline, half-full pages), analyzed most
-- often, whose few queried columns (status and type take a handful of
-- values; ids and times are read through their indexes) need no more than
-- the 3,000-row sample a target of 10 takes, against 30,000 by default.
ALTER TABLE orders
    ALTER COLUMN merchant_order_no SET STATISTICS 0,
    ALTER COLUMN amount SET STATISTICS 0,
    ALTER COLUMN currency SET STATISTICS 0,
    ALTER COLUMN subject SET STATISTICS 0,
    ALTER COLUMN items SET STATISTICS 0,
    ALTER COLUMN payer_name SET STATISTICS 0,
    ALTER COLUMN payer_id_type SET STATISTICS 0,
    ALTER COLUMN payer_id_number SET STATISTICS 0,
    ALTER COLUMN payer_phone SET STATISTICS 0,
    ALTER COLUMN ordered_at SET STATISTICS 0,
    ALTER COLUMN notify_url SET STATISTICS 0,
    ALTER COLUMN need_declare SET STATISTICS 0,
    ALTER COLUMN channel SET STATISTICS 0,
    ALTER COLUMN protocol SET STATISTICS 0,
    ALTER COLUMN capital_name SET STATISTICS 0,
    ALTER COLUMN extra SET STATISTICS 0,
    ALTER COLUMN psp SET STATISTICS 0,
    ALTER COLUMN psp_name SET STATISTICS 0,
    ALTER COLUMN psp_code SET STATISTICS 0,
    ALTER COLUMN paid_at SET STATISTICS 0,
    ALTER COLUMN ver_dept SET STATISTICS 0,
    ALTER COLUMN pay_type SET STATISTICS 0,
    ALTER COLUMN init_request SET STATISTICS 0,
    ALTER COLUMN init_response SET STATISTICS 0,
    ALTER COLUMN fail_reason SET STATISTICS 0,
    ALTER COLUMN paid_by_name SET STATISTICS 0,
    ALTER COLUMN paid_by_id SET STATISTICS 0,
    ALTER COLUMN pay_attempts SET STATISTICS 0,
    ALTER COLUMN refunded SET STATISTICS 0,
    ALTER COLUMN version SET STATISTICS 0,
    ALTER COLUMN updated_at SET STATISTICS 0,
    ALTER COLUMN fail_code SET STATISTICS 0,
    ALTER COLUMN exchange_rate SET STATISTICS 0,
    ALTER COLUMN pay_cny SET STATISTICS 0,
    ALTER COLUMN settle_rate SET STATISTICS 0,
    ALTER COLUMN fingerprint SET STATISTICS 0;

ALTER TABLE declarations
    ALTER COLUMN extras SET STATISTICS 0,
    ALTER COLUMN sub_order_id SET STATISTICS 0,
    ALTER COLUMN merchant_customs_no SET STATISTICS 0,
    ALTER COLUMN order_fee SET STATISTICS 0,
    ALTER COLUMN transport_fee SET STATISTICS 0,
    ALTER COLUMN product_fee SET STATISTICS 0,
    ALTER COLUMN duty SET STATISTICS 0,
    ALTER COLUMN strategy SET STATISTICS 0,
    ALTER COLUMN identity_check SET STATISTICS 0,
    ALTER COLUMN payer_name SET STATISTICS 0,
    ALTER COLUMN payer_id_type SET STATISTICS 0,
    ALTER COLUMN payer_id_number SET STATISTICS 0,
    ALTER COLUMN payer_phone SET STATISTICS 0,
    ALTER COLUMN explanation SET STATISTICS 0,
    ALTER COLUMN verify_department SET STATISTICS 0,
    ALTER COLUMN verify_department_trade_id SET STATISTICS 0,
    ALTER COLUMN receipt_code SET STATISTICS 0,
    ALTER COLUMN attempts SET STATISTICS 0,
    ALTER COLUMN submitted_at SET STATISTICS 0,
    ALTER COLUMN modified_at SET STATISTICS 0,
    ALTER COLUMN version SET STATISTICS 0;

ALTER TABLE events
    ALTER COLUMN public_id SET STATISTICS 0,
    ALTER COLUMN protocol SET STATISTICS 0,
    ALTER COLUMN url SET STATISTICS 0,
    ALTER COLUMN content_type SET STATISTICS 0,
    ALTER COLUMN body SET STATISTICS 0,
    ALTER COLUMN attempts SET STATISTICS 0,
    ALTER COLUMN delivered_at SET STATISTICS 0,
    ALTER COLUMN updated_at SET STATISTICS 0,
    ALTER COLUMN id SET STATISTICS 10,
    ALTER COLUMN merchant_id SET STATISTICS 10,
    ALTER COLUMN order_id SET STATISTICS 10,
    ALTER COLUMN type SET STATISTICS 10,
    ALTER COLUMN status SET STATISTICS 10,
    ALTER COLUMN created_at SET STATISTICS 10,
    ALTER COLUMN next_at SET STATISTICS 10,
    ALTER COLUMN lease_until SET STATISTICS 10,
    ALTER COLUMN dest SET STATISTICS 10;

ALTER TABLE attempts
    ALTER COLUMN status SET STATISTICS 0,
    ALTER COLUMN latency_ms SET STATISTICS 0,
    ALTER COLUMN error SET STATISTICS 0,
    ALTER COLUMN response SET STATISTICS 0;
