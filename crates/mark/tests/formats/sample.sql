CREATE TABLE t (id INTEGER, body TEXT);

INSERT INTO t VALUES (1, 'first

-- not a comment

it''s last');
/* block

comment */
@FILLER@
SELECT id, body FROM t ORDER BY id;
