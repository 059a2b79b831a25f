-- The seatlock schema for PostgreSQL; seatlock/stores/postgres.py describes the layout.
-- {schema} stands for the quoted schema name. The store runs this file once, in one
-- transaction under an advisory lock, when the schema has no version table yet, and then
-- records the schema version.
--
-- Codes: reasons are positions in seatlock.Reason (0 ok, 1 unknown seat, 2 already
-- booked, 3 held by other, 4 held by you, 5 not locked); states are positions in
-- seatlock.SeatState (0 available, 1 locked, 2 booked). Every call takes the time as
-- (p_at, p_offset): p_at, if not NULL, is the time to use (a frozen test clock); else the
-- server's clock plus p_offset (a test offset, normally 0). A seat's time never runs
-- back: a call acts on it at the later of its own time and the seat's `changed`, the
-- time of the last call that changed it.

CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE {schema}.version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version integer NOT NULL
);

CREATE TABLE {schema}.events (
    event bytea PRIMARY KEY
);

CREATE TABLE {schema}.seats (
    event    bytea NOT NULL,
    seat     bytea NOT NULL,
    added    bigint GENERATED ALWAYS AS IDENTITY,
    state    smallint NOT NULL DEFAULT 0,
    holder   bytea,
    deadline double precision,
    token    bigint,
    changed  double precision,
    PRIMARY KEY (event, seat)
);

-- Locks by deadline, live or expired: cleanup reads only the expired ones.
CREATE INDEX seats_due ON {schema}.seats (event, deadline) WHERE state = 1;

-- Hold tokens. CACHE 1 (the default) hands out values in call order across sessions.
CREATE SEQUENCE {schema}.tokens;

-- The store's time, in epoch seconds.
CREATE FUNCTION {schema}.clock(p_at double precision, p_offset double precision)
RETURNS double precision LANGUAGE sql VOLATILE
AS $$ SELECT coalesce(p_at, date_part('epoch', clock_timestamp()) + p_offset) $$;

-- A stored state as it is at time t: an expired lock is no lock.
CREATE FUNCTION {schema}.state_at(state smallint, deadline double precision, t double precision)
RETURNS smallint LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN state = 1 AND deadline <= t THEN 0::smallint ELSE state END $$;

-- The reason code of op ('lock', 'book' or 'cancel') by user who on a seat stored as
-- (state, deadline, holder), at time t; 0 if the op may go ahead.
CREATE FUNCTION {schema}.verdict(
    op text, state smallint, deadline double precision, holder bytea, who bytea,
    t double precision
) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state = 2 THEN 2
                WHEN state = 0 OR deadline <= t THEN CASE WHEN op = 'lock' THEN 0 ELSE 5 END
                WHEN holder = who THEN CASE WHEN op = 'lock' THEN 4 ELSE 0 END
                ELSE 3 END
$$;

-- Add the seats of p_seats that are missing, in order; touch none that is there. If the
-- event holds one of p_twins (ids with the same text as a new one), add nothing and
-- return it.
CREATE FUNCTION {schema}.add_seats(p_event bytea, p_seats bytea[], p_twins bytea[])
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    twin bytea;
BEGIN
    -- Calls on one event take turns on its row, so two cannot add twins at once.
    INSERT INTO {schema}.events (event) VALUES (p_event) ON CONFLICT DO NOTHING;
    PERFORM FROM {schema}.events e WHERE e.event = p_event FOR UPDATE;
    SELECT s.seat INTO twin FROM {schema}.seats s
     WHERE s.event = p_event AND s.seat = ANY (p_twins) LIMIT 1;
    IF twin IS NULL THEN
        INSERT INTO {schema}.seats (event, seat)
        SELECT p_event, q.seat FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n) ORDER BY q.n
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN twin;
END $$;

-- Lock ('lock'), book ('book') or cancel ('cancel') one seat for p_user. Returns the
-- reason code (0: done), the live holder on a conflict, and a new lock's deadline and
-- token. The row is changed by one conditional UPDATE; only when that is refused is the
-- row locked to find out why (it may have changed since; then try again). The token is
-- drawn as the row is written, so it is larger than every earlier lock's on the seat.
CREATE FUNCTION {schema}.apply_one(
    p_event bytea, p_seat bytea, p_user bytea, p_op text, p_timeout double precision,
    p_at double precision, p_offset double precision,
    OUT code integer, OUT holder bytea, OUT lock_deadline double precision,
    OUT lock_token bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
    cur record;
BEGIN
    LOOP
        UPDATE {schema}.seats s
           SET state = CASE p_op WHEN 'lock' THEN 1 WHEN 'book' THEN 2 ELSE 0 END,
               holder = CASE WHEN p_op = 'cancel' THEN NULL ELSE p_user END,
               deadline = CASE WHEN p_op = 'lock' THEN greatest(t, s.changed) + p_timeout END,
               token = CASE WHEN p_op = 'lock' THEN nextval('{schema}.tokens') END,
               changed = greatest(t, s.changed)
         WHERE s.event = p_event AND s.seat = p_seat
           AND {schema}.verdict(
                   p_op, s.state, s.deadline, s.holder, p_user, greatest(t, s.changed)) = 0
        RETURNING s.deadline, s.token INTO lock_deadline, lock_token;
        IF FOUND THEN
            code := 0;
            RETURN;
        END IF;
        SELECT s.state, s.deadline, s.holder, s.changed INTO cur FROM {schema}.seats s
         WHERE s.event = p_event AND s.seat = p_seat FOR UPDATE;
        IF NOT FOUND THEN
            code := 1;
            RETURN;
        END IF;
        code := {schema}.verdict(
            p_op, cur.state, cur.deadline, cur.holder, p_user, greatest(t, cur.changed));
        IF code <> 0 THEN
            holder := CASE WHEN code IN (3, 4) THEN cur.holder END;
            RETURN;
        END IF;
    END LOOP;
END $$;

-- Lock, book or cancel all of p_seats for p_user, or none: one timestamp, and for a lock
-- one deadline and one token. On conflict, returns every conflicting seat's 0-based
-- position in p_seats, reason code and live holder.
CREATE FUNCTION {schema}.apply_many(
    p_event bytea, p_seats bytea[], p_user bytea, p_op text, p_timeout double precision,
    p_at double precision, p_offset double precision,
    OUT conflict_at bigint[], OUT conflict_code integer[], OUT conflict_holder bytea[],
    OUT lock_deadline double precision, OUT lock_token bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
    ok bigint;
    taken bytea[];
    latest double precision;
BEGIN
    -- Lock the rows of the seats that exist, in key order, so calls never deadlock.
    SELECT count(*) FILTER (
               WHERE {schema}.verdict(p_op, k.state, k.deadline, k.holder, p_user, t) = 0),
           array_agg(k.seat), max(k.changed)
      INTO ok, taken, latest
      FROM (SELECT s.seat, s.state, s.deadline, s.holder, s.changed FROM {schema}.seats s
             WHERE s.event = p_event AND s.seat = ANY (p_seats) ORDER BY s.seat FOR UPDATE) k;
    IF latest > t THEN  -- a seat changed later than this call's time: act as of then
        t := latest;
        SELECT count(*) INTO ok FROM {schema}.seats s
         WHERE s.event = p_event AND s.seat = ANY (taken)
           AND {schema}.verdict(p_op, s.state, s.deadline, s.holder, p_user, t) = 0;
    END IF;
    IF ok < cardinality(p_seats) THEN
        -- A seat not locked above is unknown, even if it has been added since.
        SELECT array_agg(c.n - 1), array_agg(c.code),
               array_agg(CASE WHEN c.code IN (3, 4) THEN c.holder END)
          INTO conflict_at, conflict_code, conflict_holder
          FROM (SELECT q.n, s.holder,
                       CASE WHEN s.seat IS NULL THEN 1 ELSE
                           {schema}.verdict(p_op, s.state, s.deadline, s.holder, p_user, t)
                       END AS code
                  FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n)
                  LEFT JOIN {schema}.seats s
                         ON s.event = p_event AND s.seat = q.seat AND s.seat = ANY (taken)) c
         WHERE c.code <> 0;
        RETURN;
    END IF;
    IF p_op = 'lock' THEN
        lock_deadline := t + p_timeout;
        lock_token := nextval('{schema}.tokens');
    END IF;
    UPDATE {schema}.seats s
       SET state = CASE p_op WHEN 'lock' THEN 1 WHEN 'book' THEN 2 ELSE 0 END,
           holder = CASE WHEN p_op = 'cancel' THEN NULL ELSE p_user END,
           deadline = lock_deadline, token = lock_token, changed = t
     WHERE s.event = p_event AND s.seat = ANY (p_seats);
END $$;

-- Release the event's locks expired at the call, p_batch at a time, committing after
-- each batch so no row stays locked long; rows that other calls hold are left to them.
-- released: how many this call released.
CREATE PROCEDURE {schema}.cleanup(
    p_event bytea, p_batch integer, p_at double precision, p_offset double precision,
    INOUT released bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
    n integer;
BEGIN
    released := 0;
    LOOP
        UPDATE {schema}.seats s
           SET state = 0, holder = NULL, deadline = NULL, token = NULL,
               changed = greatest(t, s.changed)
          FROM (SELECT d.seat FROM {schema}.seats d
                 WHERE d.event = p_event AND d.state = 1 AND d.deadline <= t
                 ORDER BY d.deadline LIMIT p_batch FOR UPDATE SKIP LOCKED) due
         WHERE s.event = p_event AND s.seat = due.seat;
        GET DIAGNOSTICS n = ROW_COUNT;
        released := released + n;
        COMMIT;
        EXIT WHEN n < p_batch;
    END LOOP;
END $$;

-- One seat now: state, holder (locked or booked), deadline and token (locked), the time.
CREATE FUNCTION {schema}.status(
    p_event bytea, p_seat bytea, p_at double precision, p_offset double precision
) RETURNS TABLE (
    now_state smallint, holder bytea, deadline double precision, token bigint,
    now double precision
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
BEGIN
    RETURN QUERY
    SELECT s.now_state,
           CASE WHEN s.now_state <> 0 THEN s.holder END,
           CASE WHEN s.now_state = 1 THEN s.deadline END,
           CASE WHEN s.now_state = 1 THEN s.token END,
           s.t
      FROM (SELECT r.holder, r.deadline, r.token, greatest(t, r.changed) AS t,
                   {schema}.state_at(r.state, r.deadline, greatest(t, r.changed)) AS now_state
              FROM {schema}.seats r WHERE r.event = p_event AND r.seat = p_seat) s;
END $$;

-- The event's seats in p_state now (all if NULL), in the order they were added.
CREATE FUNCTION {schema}.seat_ids(
    p_event bytea, p_state integer, p_at double precision, p_offset double precision
) RETURNS SETOF bytea LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
BEGIN
    RETURN QUERY
    SELECT s.seat FROM {schema}.seats s
     WHERE s.event = p_event
       AND (p_state IS NULL
            OR {schema}.state_at(s.state, s.deadline, greatest(t, s.changed)) = p_state)
     ORDER BY s.added;
END $$;

-- How many of the event's seats are available, locked and booked now.
CREATE FUNCTION {schema}.counts(
    p_event bytea, p_at double precision, p_offset double precision,
    OUT available bigint, OUT locked bigint, OUT booked bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_at, p_offset);
BEGIN
    SELECT count(*) FILTER (WHERE s.now_state = 0),
           count(*) FILTER (WHERE s.now_state = 1),
           count(*) FILTER (WHERE s.now_state = 2)
      INTO available, locked, booked
      FROM (SELECT {schema}.state_at(r.state, r.deadline, greatest(t, r.changed)) AS now_state
              FROM {schema}.seats r WHERE r.event = p_event) s;
END $$;
