-- The seatlock schema for PostgreSQL; the layout is described in seatlock/stores/postgres.py.
-- {schema} stands for the quoted schema name. The store runs this file once, in one
-- transaction under an advisory lock, when the schema has no version table yet, and then
-- records the schema version. Reason codes are positions in seatlock.Reason: 0 ok,
-- 1 unknown seat, 2 already booked, 3 held by other, 4 held by you, 5 not locked.
-- State codes are positions in seatlock.SeatState: 0 available, 1 locked, 2 booked.

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
    PRIMARY KEY (event, seat)
);

-- Locks by deadline, live or expired: cleanup reads only the expired ones.
CREATE INDEX seats_due ON {schema}.seats (event, deadline) WHERE state = 1;

-- Hold tokens. CACHE 1 (the default) hands out values in call order across sessions.
CREATE SEQUENCE {schema}.tokens;

-- The store's time: the server's clock in epoch seconds, plus a test offset.
CREATE FUNCTION {schema}.clock(time_offset double precision)
RETURNS double precision LANGUAGE sql VOLATILE
AS $$ SELECT date_part('epoch', clock_timestamp()) + time_offset $$;

-- A stored state as it is at time t: an expired lock is no lock.
CREATE FUNCTION {schema}.state_at(state smallint, deadline double precision, t double precision)
RETURNS smallint LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN state = 1 AND deadline <= t THEN 0::smallint ELSE state END $$;

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

-- Lock ('lock'), book ('book') or cancel ('cancel') all of p_seats for p_user, or none:
-- one call, one timestamp, and for a lock one deadline and one token. On conflict, return
-- every conflicting seat's 0-based position in p_seats, reason code and live holder.
CREATE FUNCTION {schema}.apply(
    p_event bytea, p_seats bytea[], p_user bytea, p_op text, p_timeout double precision,
    p_offset double precision,
    OUT conflict_at integer[], OUT conflict_code integer[], OUT conflict_holder bytea[],
    OUT lock_deadline double precision, OUT lock_token bigint
) LANGUAGE plpgsql AS $$
DECLARE
    at integer[]; states smallint[]; holders bytea[]; deadlines double precision[];
    t double precision;
    now_state smallint;
    code integer;
BEGIN
    -- Lock the rows of the seats that exist, in key order, so calls never deadlock.
    SELECT array_agg(k.n), array_agg(k.state), array_agg(k.holder), array_agg(k.deadline)
      INTO at, states, holders, deadlines
      FROM (SELECT q.n, s.state, s.holder, s.deadline
              FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n)
              JOIN {schema}.seats s ON s.event = p_event AND s.seat = q.seat
             ORDER BY s.seat FOR UPDATE OF s) k;
    t := {schema}.clock(p_offset);  -- read once the rows are ours
    IF cardinality(at) IS DISTINCT FROM cardinality(p_seats) THEN
        SELECT array_agg(q.n - 1), array_agg(1), array_agg(NULL::bytea)
          INTO conflict_at, conflict_code, conflict_holder
          FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n)
         WHERE q.n NOT IN (SELECT unnest(at));
    END IF;
    FOR i IN 1 .. coalesce(cardinality(at), 0) LOOP
        now_state := {schema}.state_at(states[i], deadlines[i], t);
        code := CASE WHEN now_state = 2 THEN 2
                     WHEN p_op = 'lock' THEN
                          CASE WHEN now_state = 0 THEN 0 WHEN holders[i] = p_user THEN 4 ELSE 3 END
                     WHEN now_state = 0 THEN 5
                     WHEN holders[i] <> p_user THEN 3
                     ELSE 0 END;
        IF code <> 0 THEN
            conflict_at := conflict_at || at[i] - 1;
            conflict_code := conflict_code || code;
            conflict_holder := conflict_holder || CASE WHEN code IN (3, 4) THEN holders[i] END;
        END IF;
    END LOOP;
    IF conflict_at IS NOT NULL THEN
        RETURN;
    END IF;
    IF p_op = 'lock' THEN
        lock_deadline := t + p_timeout;
        lock_token := nextval('{schema}.tokens');
        UPDATE {schema}.seats s
           SET state = 1, holder = p_user, deadline = lock_deadline, token = lock_token
         WHERE s.event = p_event AND s.seat = ANY (p_seats);
    ELSE
        UPDATE {schema}.seats s
           SET state = CASE WHEN p_op = 'book' THEN 2 ELSE 0 END,
               holder = CASE WHEN p_op = 'book' THEN p_user END,
               deadline = NULL, token = NULL
         WHERE s.event = p_event AND s.seat = ANY (p_seats);
    END IF;
END $$;

-- Release the event's locks expired at the call, p_batch at a time, committing after
-- each batch so no row stays locked long; rows other calls hold are left for them.
-- released: how many this call released.
CREATE PROCEDURE {schema}.cleanup(
    p_event bytea, p_offset double precision, p_batch integer, INOUT released bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
    n integer;
BEGIN
    released := 0;
    LOOP
        UPDATE {schema}.seats s SET state = 0, holder = NULL, deadline = NULL, token = NULL
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
CREATE FUNCTION {schema}.status(p_event bytea, p_seat bytea, p_offset double precision)
RETURNS TABLE (
    now_state smallint, holder bytea, deadline double precision, token bigint,
    now double precision
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    RETURN QUERY
    SELECT s.now_state,
           CASE WHEN s.now_state <> 0 THEN s.holder END,
           CASE WHEN s.now_state = 1 THEN s.deadline END,
           CASE WHEN s.now_state = 1 THEN s.token END,
           t
      FROM (SELECT r.holder, r.deadline, r.token,
                   {schema}.state_at(r.state, r.deadline, t) AS now_state
              FROM {schema}.seats r WHERE r.event = p_event AND r.seat = p_seat) s;
END $$;

-- The event's seats in p_state now (all if NULL), in the order they were added.
CREATE FUNCTION {schema}.seat_ids(p_event bytea, p_state integer, p_offset double precision)
RETURNS SETOF bytea LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    RETURN QUERY
    SELECT s.seat FROM {schema}.seats s
     WHERE s.event = p_event
       AND (p_state IS NULL OR {schema}.state_at(s.state, s.deadline, t) = p_state)
     ORDER BY s.added;
END $$;

-- How many of the event's seats are available, locked and booked now.
CREATE FUNCTION {schema}.counts(
    p_event bytea, p_offset double precision,
    OUT available bigint, OUT locked bigint, OUT booked bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    SELECT count(*) FILTER (WHERE s.now_state = 0),
           count(*) FILTER (WHERE s.now_state = 1),
           count(*) FILTER (WHERE s.now_state = 2)
      INTO available, locked, booked
      FROM (SELECT {schema}.state_at(r.state, r.deadline, t) AS now_state
              FROM {schema}.seats r WHERE r.event = p_event) s;
END $$;
