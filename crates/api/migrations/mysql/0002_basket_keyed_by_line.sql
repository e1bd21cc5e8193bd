-- A cart line is keyed by its clustered index, (user, product). An order's cart clear leaves its
-- rows delete-marked until InnoDB purges them, and a line added again meets the deleted one in the
-- duplicate check: on the unique secondary index `basket_line` that check takes next-key locks
-- (READ COMMITTED included), which reach into the neighbouring user's lines, so two shoppers'
-- cart writes deadlocked (error 1213); on the clustered index it locks that one record only.
-- `id` still gives the order in which lines were added.
ALTER TABLE unicorns_basket
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (user_uuid, unicorn_uuid),
    ADD UNIQUE KEY basket_order (id),
    DROP KEY basket_line;
