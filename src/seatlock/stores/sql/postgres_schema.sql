-- The seatlock schema for PostgreSQL (see seatlock/stores/postgres.py for the layout).
-- {schema} stands for the quoted schema name. The store runs this file once, in one
-- transaction, holding an advisory lock, when the schema has no version table yet;
-- then it records the schema version. Reason codes are positions in seatlock.Reason:
-- 0 ok, 1 unknown seat, 2 already booked, 3 held by other, 4 held by you, 5 not locked.
-- States are positions in seatlock.SeatState: 0 available, 1 locked, 2 booked.

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
    position bigint GENERATED ALWAYS AS IDENTITY,
    state    smallint NOT NULL DEFAULT 0,
    holder   bytea,
    deadline double precision,
    token    bigint,
    PRIMARY KEY (event, seat)
);

-- Locks by deadline, live or expired: cleanup reads only the expired ones.
CREATE INDEX seats_due ON {schema}.seats (event, deadline) WHERE state = 1;

-- Hold tokens. CACHE 1 (the default) keeps values in call order across sessions.
CREATE SEQUENCE {schema}.tokens;

-- The store's time: the server's clock in epoch seconds, plus a test offset.
CREATE FUNCTION {schema}.clock(time_offset double precision)
RETURNS double precision LANGUAGE sql VOLATILE
AS $$ SELECT date_part('epoch', clock_timestamp()) + time_offset $$;

-- A stored state as seen at time t: an expired lock is no lock.
CREATE FUNCTION {schema}.state_at(state smallint, deadline double precision, t double precision)
RETURNS smallint LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN state = 1 AND deadline <= t THEN 0::smallint ELSE state END $$;

-- Add the missing seats in the given order; touch none that is there. Returns the first
-- stored seat among twins (ids with the same text as a new one) and then adds nothing.
CREATE FUNCTION {schema}.add_seats(p_event bytea, p_seats bytea[], p_twins bytea[])
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    twin bytea;
BEGIN
    -- Calls on one event take turns on its row, so two can't add twins at once.
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

-- Lock all of p_seats for p_user with one deadline and token, or none. On conflict,
-- returns every conflicting seat: its 0-based position in p_seats, reason and holder.
CREATE FUNCTION {schema}.lock(
    p_event bytea, p_seats bytea[], p_user bytea, p_timeout double precision,
    p_offset double precision,
    OUT conflict_at integer[], OUT conflict_code integer[], OUT conflict_holder bytea[],
    OUT lock_deadline double precision, OUT lock_token bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision;
BEGIN
    PERFORM FROM {schema}.seats s WHERE s.event = p_event AND s.seat = ANY (p_seats)
     ORDER BY s.seat FOR UPDATE;
    t := {schema}.clock(p_offset);  -- read once the seats are ours
    SELECT array_agg(c.at), array_agg(c.code), array_agg(c.holder)
      INTO conflict_at, conflict_code, conflict_holder
      FROM (SELECT q.n - 1 AS at,
                   CASE WHEN s.seat IS NULL THEN 1
                        WHEN now_state = 2 THEN 2
                        WHEN now_state = 1 THEN CASE WHEN s.holder = p_user THEN 4 ELSE 3 END
                        ELSE 0 END AS code,
                   CASE WHEN now_state = 1 THEN s.holder END AS holder
              FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n)
              LEFT JOIN {schema}.seats s ON s.event = p_event AND s.seat = q.seat
             CROSS JOIN LATERAL {schema}.state_at(s.state, s.deadline, t) AS now_state) c
     WHERE c.code <> 0;
    IF conflict_at IS NOT NULL THEN
        RETURN;
    END IF;
    lock_deadline := t + p_timeout;
    lock_token := nextval('{schema}.tokens');
    UPDATE {schema}.seats s
       SET state = 1, holder = p_user, deadline = lock_deadline, token = lock_token
     WHERE s.event = p_event AND s.seat = ANY (p_seats);
END $$;

-- Book (p_book) or cancel every seat of p_seats that p_user holds live, or none.
-- Conflicts are returned as by lock.
CREATE FUNCTION {schema}.release(
    p_event bytea, p_seats bytea[], p_user bytea, p_book boolean, p_offset double precision,
    OUT conflict_at integer[], OUT conflict_code integer[], OUT conflict_holder bytea[]
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision;
BEGIN
    PERFORM FROM {schema}.seats s WHERE s.event = p_event AND s.seat = ANY (p_seats)
     ORDER BY s.seat FOR UPDATE;
    t := {schema}.clock(p_offset);
    SELECT array_agg(c.at), array_agg(c.code), array_agg(c.holder)
      INTO conflict_at, conflict_code, conflict_holder
      FROM (SELECT q.n - 1 AS at,
                   CASE WHEN s.seat IS NULL THEN 1
                        WHEN now_state = 2 THEN 2
                        WHEN now_state = 0 THEN 5
                        WHEN s.holder <> p_user THEN 3
                        ELSE 0 END AS code,
                   CASE WHEN now_state = 1 AND s.holder <> p_user THEN s.holder END AS holder
              FROM unnest(p_seats) WITH ORDINALITY AS q (seat, n)
              LEFT JOIN {schema}.seats s ON s.event = p_event AND s.seat = q.seat
             CROSS JOIN LATERAL {schema}.state_at(s.state, s.deadline, t) AS now_state) c
     WHERE c.code <> 0;
    IF conflict_at IS NOT NULL THEN
        RETURN;
    END IF;
    UPDATE {schema}.seats s
       SET state = CASE WHEN p_book THEN 2 ELSE 0 END,
           holder = CASE WHEN p_book THEN s.holder END,
           deadline = NULL, token = NULL
     WHERE s.event = p_event AND s.seat = ANY (p_seats);
END $$;

-- Release the event's expired locks, p_batch at a time, committing after each batch so
-- no lock is held long; skips seats another call has locked. released: how many.
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

-- One seat now: state, holder (locked or booked), deadline, token and time now.
CREATE FUNCTION {schema}.status(p_event bytea, p_seat bytea, p_offset double precision)
RETURNS TABLE (
    state smallint, holder bytea, deadline double precision, token bigint,
    now double precision
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    RETURN QUERY
    SELECT now_state,
           CASE WHEN now_state <> 0 THEN s.holder END,
           CASE WHEN now_state = 1 THEN s.deadline END,
           CASE WHEN now_state = 1 THEN s.token END,
           t
      FROM {schema}.seats s
     CROSS JOIN LATERAL {schema}.state_at(s.state, s.deadline, t) AS now_state
     WHERE s.event = p_event AND s.seat = p_seat;
END $$;

-- The event's seats in p_state now (all if NULL), in the order they were added.
CREATE FUNCTION {schema}.seat_ids(p_event bytea, p_state smallint, p_offset double precision)
RETURNS SETOF bytea LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    RETURN QUERY
    SELECT s.seat FROM {schema}.seats s
     WHERE s.event = p_event
       AND (p_state IS NULL OR {schema}.state_at(s.state, s.deadline, t) = p_state)
     ORDER BY s.position;
END $$;

-- How many of the event's seats are available, locked and booked now.
CREATE FUNCTION {schema}.counts(
    p_event bytea, p_offset double precision,
    OUT available bigint, OUT locked bigint, OUT booked bigint
) LANGUAGE plpgsql AS $$
DECLARE
    t double precision := {schema}.clock(p_offset);
BEGIN
    SELECT count(*) FILTER (WHERE now_state = 0),
           count(*) FILTER (WHERE now_state = 1),
           count(*) FILTER (WHERE now_state = 2)
      INTO available, locked, booked
      FROM {schema}.seats s
     CROSS JOIN LATERAL {schema}.state_at(s.state, s.deadline, t) AS now_state
     WHERE s.event = p_event;
END $$;
