/* The memory store's hot paths in C: the six seat operations of seatlock.stores.memory.
 *
 * Optional: seatlock.stores.memory runs the same operations in pure Python when this
 * extension is not built. Both work on one layout, the per-event state documented in
 * memory.py, and the slow paths (refusals of bulk calls, the late-lock heap, queue
 * compaction, cleanup, reads) are Python for both: C calls them with the mutex held.
 *
 * EventCore is one event's state plus its mutex. Calls is one manager's view of it (its
 * lock timeout and clock) with the operations: the store-level ones (lock, book, cancel,
 * lock_many, book_many, cancel_many: arguments already checked) and the manager-level
 * ones (lock_seat … cancel_locks_bulk: they check their arguments, fast for plain ids,
 * else through seatlock.validation, so errors read the same).
 *
 * No reliance on the GIL: every operation holds the event's mutex while it reads and
 * writes the state, so this is correct on a free-threaded build too. Blocking on the
 * mutex releases the GIL (or attached thread state), as threading.Lock does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>

#ifndef Py_T_OBJECT_EX
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* ---- objects handed over by configure() ------------------------------------------- */

static PyObject *FREE, *BOOKED;
static PyObject *OP_LOCK, *OP_LOCK_BULK, *OP_BOOK, *OP_BOOK_BULK, *OP_CANCEL, *OP_CANCEL_BULK;
static PyObject *RS_OK, *RS_UNKNOWN, *RS_BOOKED, *RS_OTHER, *RS_YOU, *RS_NOT_LOCKED;
static PyTypeObject *RESULT;
static Py_ssize_t OFF_DETAIL, OFF_SUBJECT, OFF_DEADLINE, OFF_OP, OFF_REASON, OFF_TOKEN, OFF_USER;
static PyObject *CHECK_SEAT_ID, *CHECK_USER_ID, *CHECK_SEAT_IDS, *BULK_LABEL;
static PyObject *LOCK_REFUSED, *RELEASE_REFUSED, *ENQUEUE_LATE, *COMPACT;
static PyObject *MONOTONIC;
static int configured = 0;

#define INT_ID_DIGITS 256 /* seatlock.validation.MAX_ID_LENGTH */
#define PAIRWISE_MAX 32   /* bulk calls up to this size find repeats without a set */

/* ---- EventCore ---------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyThread_type_lock mutex;
    PyObject *state, *holder, *token;  /* dicts */
    PyObject *due_seats, *due_times;   /* lists: the expiry queue, from due_head on */
    PyObject *last_due;                /* the queue's last deadline */
    PyObject *late;                    /* list: heap of (deadline, n, seat) */
    Py_ssize_t due_head, compact_at;
    long long tokens, late_count;
} EventCore;

/* Take the mutex: 0, or -1 with an exception (a signal handler raised, say Ctrl-C,
   while waiting; as threading.Lock.acquire). Waiting releases the GIL. */
static int
mutex_acquire(EventCore *ev)
{
    if (PyThread_acquire_lock(ev->mutex, NOWAIT_LOCK)) {
        return 0;
    }
    PyLockStatus got;
    do {
        Py_BEGIN_ALLOW_THREADS
        got = PyThread_acquire_lock_timed(ev->mutex, -1, 1);
        Py_END_ALLOW_THREADS
        if (got == PY_LOCK_INTR && Py_MakePendingCalls() < 0) {
            return -1;
        }
    } while (got != PY_LOCK_ACQUIRED);
    return 0;
}

#define mutex_release(ev) PyThread_release_lock((ev)->mutex)

static PyObject *
event_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "EventCore() takes no arguments");
        return NULL;
    }
    EventCore *ev = (EventCore *)type->tp_alloc(type, 0);
    if (ev == NULL) {
        return NULL;
    }
    ev->mutex = PyThread_allocate_lock();
    ev->state = PyDict_New();
    ev->holder = PyDict_New();
    ev->token = PyDict_New();
    ev->due_seats = PyList_New(0);
    ev->due_times = PyList_New(0);
    ev->last_due = PyFloat_FromDouble(-Py_HUGE_VAL);
    ev->late = PyList_New(0);
    if (!ev->mutex || !ev->state || !ev->holder || !ev->token || !ev->due_seats ||
        !ev->due_times || !ev->last_due || !ev->late) {
        Py_DECREF(ev);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return (PyObject *)ev;
}

static int
event_traverse(EventCore *ev, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(ev));
    Py_VISIT(ev->state);
    Py_VISIT(ev->holder);
    Py_VISIT(ev->token);
    Py_VISIT(ev->due_seats);
    Py_VISIT(ev->due_times);
    Py_VISIT(ev->last_due);
    Py_VISIT(ev->late);
    return 0;
}

static int
event_clear(EventCore *ev)
{
    Py_CLEAR(ev->state);
    Py_CLEAR(ev->holder);
    Py_CLEAR(ev->token);
    Py_CLEAR(ev->due_seats);
    Py_CLEAR(ev->due_times);
    Py_CLEAR(ev->last_due);
    Py_CLEAR(ev->late);
    return 0;
}

static void
event_dealloc(EventCore *ev)
{
    PyTypeObject *type = Py_TYPE(ev);
    PyObject_GC_UnTrack(ev);
    event_clear(ev);
    if (ev->mutex) {
        PyThread_free_lock(ev->mutex);
    }
    type->tp_free(ev);
    Py_DECREF(type);
}

static PyObject *
event_acquire(EventCore *ev, PyObject *Py_UNUSED(ignored))
{
    if (mutex_acquire(ev) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *
event_release(EventCore *ev, PyObject *Py_UNUSED(ignored))
{
    mutex_release(ev);
    Py_RETURN_NONE;
}

static PyMethodDef event_methods[] = {
    {"acquire", (PyCFunction)event_acquire, METH_NOARGS, "Take the event's mutex (blocks)."},
    {"release", (PyCFunction)event_release, METH_NOARGS, "Give the event's mutex back."},
    {NULL},
};

/* The object fields, by offset: readable, replaceable (the queue's lists only by
   lists), never deletable, so the operations never meet a missing field. */
#define EV_FIELD(name) ((void *)offsetof(EventCore, name))

static PyObject *
field_get(EventCore *ev, void *offset)
{
    return Py_NewRef(*(PyObject **)((char *)ev + (size_t)offset));
}

static int
field_set(EventCore *ev, PyObject *value, void *offset)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "EventCore fields cannot be deleted");
        return -1;
    }
    size_t at = (size_t)offset;
    if ((at == offsetof(EventCore, due_seats) || at == offsetof(EventCore, due_times) ||
         at == offsetof(EventCore, late)) &&
        !PyList_CheckExact(value)) {
        PyErr_Format(PyExc_TypeError, "EventCore queue fields must be lists, not %R", value);
        return -1;
    }
    Py_SETREF(*(PyObject **)((char *)ev + at), Py_NewRef(value));
    return 0;
}

static PyGetSetDef event_getset[] = {
    {"due_seats", (getter)field_get, (setter)field_set, "the expiry queue's seats (list)",
     EV_FIELD(due_seats)},
    {"due_times", (getter)field_get, (setter)field_set, "the expiry queue's deadlines (list)",
     EV_FIELD(due_times)},
    {"last_due", (getter)field_get, (setter)field_set, "the expiry queue's last deadline",
     EV_FIELD(last_due)},
    {"late", (getter)field_get, (setter)field_set, "heap of (deadline, n, seat), out of order",
     EV_FIELD(late)},
    {NULL},
};

#define EV_MEMBER(name, kind, flags, doc) {#name, kind, offsetof(EventCore, name), flags, doc}
static PyMemberDef event_members[] = {
    EV_MEMBER(state, Py_T_OBJECT_EX, READONLY, "seat id -> FREE, BOOKED or its lock's deadline"),
    EV_MEMBER(holder, Py_T_OBJECT_EX, READONLY, "seat id -> holder (locked) or booker (booked)"),
    EV_MEMBER(token, Py_T_OBJECT_EX, READONLY, "seat id -> its last lock's token"),
    EV_MEMBER(due_head, T_PYSSIZET, 0, "index of the queue's first live entry"),
    EV_MEMBER(compact_at, T_PYSSIZET, 0, "queue length past which it is compacted"),
    EV_MEMBER(tokens, T_LONGLONG, 0, "the last token handed out"),
    EV_MEMBER(late_count, T_LONGLONG, 0, "entries ever pushed on the late heap"),
    {NULL},
};

static PyType_Slot event_slots[] = {
    {Py_tp_doc, "One event's seat state and its mutex (see seatlock.stores.memory)."},
    {Py_tp_new, event_new},
    {Py_tp_dealloc, event_dealloc},
    {Py_tp_traverse, event_traverse},
    {Py_tp_clear, event_clear},
    {Py_tp_methods, event_methods},
    {Py_tp_members, event_members},
    {Py_tp_getset, event_getset},
    {0, NULL},
};

static PyType_Spec event_spec = {
    "seatlock.stores._memory_core.EventCore",
    sizeof(EventCore),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    event_slots,
};

static PyTypeObject *EVENT_CORE;

/* ---- Calls ---------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    EventCore *ev;
    PyObject *timeout;  /* seconds, as given */
    double timeout_d;   /* the same as a double, when timeout_fast */
    int timeout_fast;
    PyObject *clock;    /* NULL: time.monotonic, read here directly */
} Calls;

/* A new Result: fields as in seatlock.results.Result.__init__ (references borrowed). */
static PyObject *
new_result(PyObject *op, PyObject *reason, PyObject *subject, PyObject *user,
           PyObject *detail, PyObject *deadline, PyObject *token)
{
    PyObject *r = RESULT->tp_alloc(RESULT, 0);
    if (r == NULL) {
        return NULL;
    }
    char *base = (char *)r;
#define SET(off, v) (*(PyObject **)(base + (off)) = Py_NewRef(v))
    SET(OFF_OP, op);
    SET(OFF_REASON, reason);
    SET(OFF_SUBJECT, subject);
    SET(OFF_USER, user);
    SET(OFF_DETAIL, detail);
    SET(OFF_DEADLINE, deadline);
    SET(OFF_TOKEN, token);
#undef SET
    return r;
}

/* Now on this view's clock (a new reference), or NULL with an exception. */
static PyObject *
clock_now(Calls *c)
{
    if (c->clock != NULL) {
        return PyObject_CallNoArgs(c->clock);
    }
#ifdef __linux__
    /* What time.monotonic() returns, without the call: on Linux CPython reads
       CLOCK_MONOTONIC and turns its nanoseconds into seconds this way
       (_PyTime_AsSecondsDouble). Elsewhere its source differs: call it. */
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        double d = (ns % 1000000000LL == 0) ? (double)(ns / 1000000000LL) : (double)ns / 1e9;
        return PyFloat_FromDouble(d);
    }
#endif
    return PyObject_CallNoArgs(MONOTONIC);
}

/* a < b (op Py_LT) or a <= b (Py_LE) … for two clock readings: 1, 0, or -1 on error. */
static inline int
compare(PyObject *a, PyObject *b, int op)
{
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b)) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        switch (op) {
        case Py_LE: return x <= y;
        case Py_GT: return x > y;
        case Py_GE: return x >= y;
        default: return x < y;
        }
    }
    return PyObject_RichCompareBool(a, b, op);
}

/* Whether ``current`` (a state value) is a lock still live at ``now``: 1, 0, -1. */
static inline int
is_live_lock(PyObject *current, PyObject *now)
{
    if (current == FREE || current == BOOKED) {
        return 0;
    }
    return compare(current, now, Py_GT);
}

/* Whether a lock at ``now`` must refuse a seat in state ``current`` (NULL: no such
   seat, no error pending): 1, 0, -1. */
static inline int
lock_blocked(PyObject *current, PyObject *now)
{
    if (current == NULL || current == BOOKED) {
        return 1;
    }
    return is_live_lock(current, now);
}

/* Whether ``user`` holds ``seat`` (state ``current``, NULL: no such seat) live at ``now``,
   so may book or cancel it: 1, 0, -1. */
static int
holds_live(EventCore *ev, PyObject *seat, PyObject *user, PyObject *current, PyObject *now)
{
    int live = current == NULL ? 0 : is_live_lock(current, now);
    if (live <= 0) {
        return live;
    }
    PyObject *holder = PyDict_GetItemWithError(ev->holder, seat);
    if (holder == NULL) { /* a live lock always has a holder */
        return PyErr_Occurred() ? -1 : (PyErr_Format(PyExc_KeyError, "%R", seat), -1);
    }
    return holder == user ? 1 : PyObject_RichCompareBool(holder, user, Py_EQ);
}

static PyObject *
deadline_from(Calls *c, PyObject *now)
{
    if (c->timeout_fast && PyFloat_CheckExact(now)) {
        return PyFloat_FromDouble(PyFloat_AS_DOUBLE(now) + c->timeout_d);
    }
    return PyNumber_Add(now, c->timeout);
}

/* Put seats[0:n] with ``deadline`` on the expiry queue (mutex held). 0 or -1. */
static int
enqueue(EventCore *ev, PyObject *const *seats, Py_ssize_t n, PyObject *deadline,
        PyObject *seat_tuple)
{
    int in_order = compare(deadline, ev->last_due, Py_GE);
    if (in_order < 0) {
        return -1;
    }
    if (!in_order) {
        PyObject *ids = seat_tuple ? Py_NewRef(seat_tuple) : PyTuple_Pack(1, seats[0]);
        if (ids == NULL) {
            return -1;
        }
        PyObject *r = PyObject_CallFunctionObjArgs(ENQUEUE_LATE, (PyObject *)ev, ids, deadline,
                                                   NULL);
        Py_DECREF(ids);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    Py_SETREF(ev->last_due, Py_NewRef(deadline));
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_Append(ev->due_seats, seats[i]) < 0 ||
            PyList_Append(ev->due_times, deadline) < 0) {
            return -1;
        }
    }
    if (PyList_GET_SIZE(ev->due_seats) - ev->due_head > ev->compact_at) {
        PyObject *r = PyObject_CallOneArg(COMPACT, (PyObject *)ev);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    return 0;
}

/* -- argument checks: plain ids pass at once, anything else goes through Python -- */

static inline int
small_int(PyObject *v)
{
    /* an exact int of at most 18 digits: well inside the id limit */
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    return overflow == 0 && !(x == -1 && PyErr_Occurred()) &&
           x > -1000000000000000000LL && x < 1000000000000000000LL;
}

/* A plain seat id (new reference) or NULL with the check's exception. */
static inline PyObject *
seat_arg(PyObject *v)
{
    if (PyUnicode_CheckExact(v) || (PyLong_CheckExact(v) && small_int(v))) {
        return Py_NewRef(v);
    }
    return PyObject_CallOneArg(CHECK_SEAT_ID, v);
}

static inline PyObject *
user_arg(PyObject *v)
{
    if ((PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) > 0) ||
        (PyLong_CheckExact(v) && small_int(v))) {
        return Py_NewRef(v);
    }
    return PyObject_CallOneArg(CHECK_USER_ID, v);
}

/* Whether the plain ids seats[0:n] hold a repeat: 1, 0, or -1 on error. */
static int
has_repeat(PyObject *const *seats, Py_ssize_t n)
{
    if (n > PAIRWISE_MAX) {
        PyObject *set = PySet_New(NULL);
        if (set == NULL) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (PySet_Add(set, seats[i]) < 0) {
                Py_DECREF(set);
                return -1;
            }
        }
        int repeat = PySet_GET_SIZE(set) != n;
        Py_DECREF(set);
        return repeat;
    }
    Py_hash_t hashes[PAIRWISE_MAX];
    for (Py_ssize_t i = 0; i < n; i++) {
        hashes[i] = PyObject_Hash(seats[i]);
        if (hashes[i] == -1) {
            return -1;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (hashes[j] == hashes[i]) {
                int eq = PyObject_RichCompareBool(seats[i], seats[j], Py_EQ);
                if (eq != 0) {
                    return eq;
                }
            }
        }
    }
    return 0;
}

/* The checked ids of a bulk call as a new tuple (as check_seat_ids gives), or NULL. */
static PyObject *
seat_ids_arg(PyObject *seat_ids)
{
    PyObject *ids;
    if (PyTuple_CheckExact(seat_ids)) {
        ids = Py_NewRef(seat_ids);
    }
    else if (PyList_CheckExact(seat_ids)) {
        ids = PyList_AsTuple(seat_ids);
        if (ids == NULL) {
            return NULL;
        }
    }
    else {
        return PyObject_CallOneArg(CHECK_SEAT_IDS, seat_ids);
    }
    Py_ssize_t n = PyTuple_GET_SIZE(ids);
    PyObject *const *items = &PyTuple_GET_ITEM(ids, 0);
    int plain = n > 0;
    for (Py_ssize_t i = 0; plain && i < n; i++) {
        PyObject *v = items[i];
        plain = PyUnicode_CheckExact(v) || (PyLong_CheckExact(v) && small_int(v));
    }
    int repeat = plain ? has_repeat(items, n) : 0;
    if (repeat < 0) {
        Py_DECREF(ids);
        return NULL;
    }
    if (!plain || repeat) { /* let Python find and name the problem (or convert) */
        Py_DECREF(ids);
        return PyObject_CallOneArg(CHECK_SEAT_IDS, seat_ids);
    }
    return ids;
}

/* What a bulk success message shows (seatlock.results.bulk_label). */
static PyObject *
bulk_label(PyObject *seat_ids)
{
    if (PyTuple_CheckExact(seat_ids)) {
        return Py_NewRef(seat_ids);
    }
    if (PyList_CheckExact(seat_ids)) {
        return PyList_GetSlice(seat_ids, 0, PyList_GET_SIZE(seat_ids));
    }
    return PyObject_CallOneArg(BULK_LABEL, seat_ids);
}

/* -- the operations (arguments checked; ids plain) -- */

/* The single-seat refusal of a lock (is_lock) or a book/cancel, as in seatlock.rules. */
static PyObject *
refused(PyObject *op, int is_lock, PyObject *seat, PyObject *user, PyObject *current,
        PyObject *now, EventCore *ev)
{
    PyObject *reason, *holder = Py_None;
    if (current == NULL) {
        reason = RS_UNKNOWN;
    }
    else if (current == BOOKED) {
        reason = RS_BOOKED;
    }
    else {
        int live = is_live_lock(current, now);
        if (live < 0) {
            return NULL;
        }
        if (!live) {
            reason = RS_NOT_LOCKED; /* a lock never refuses a seat with no live lock */
        }
        else {
            holder = PyDict_GetItemWithError(ev->holder, seat);
            if (holder == NULL) {
                return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_KeyError, "%R", seat);
            }
            int same = PyObject_RichCompareBool(holder, user, Py_EQ);
            if (same < 0) {
                return NULL;
            }
            reason = same ? RS_YOU : RS_OTHER;
            if (!is_lock && same) {
                PyErr_SetString(PyExc_AssertionError, "refused a release the holder may do");
                return NULL;
            }
        }
    }
    return new_result(op, reason, seat, user, holder, Py_None, Py_None);
}

/* The calls on seats: ``ids`` is a seat id (single-seat call) or, when ``many``, a tuple of
   seat ids (bulk call, ``label`` its message's); all seats or none change. */
#define SEATS_OF(ids, many, n, seats)                                                        \
    Py_ssize_t n = (many) ? PyTuple_GET_SIZE(ids) : 1;                                       \
    PyObject *const *seats = (many) ? &PyTuple_GET_ITEM(ids, 0) : &(ids)

static PyObject *
do_lock(Calls *c, PyObject *ids, int many, PyObject *user, PyObject *label)
{
    EventCore *ev = c->ev;
    PyObject *result = NULL, *now = NULL, *deadline = NULL, *token = NULL;
    SEATS_OF(ids, many, n, seats);
    if (mutex_acquire(ev) < 0) {
        return NULL;
    }
    now = clock_now(c);
    if (now == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *current = PyDict_GetItemWithError(ev->state, seats[i]);
        if (current == NULL && PyErr_Occurred()) {
            goto done;
        }
        int blocked = lock_blocked(current, now);
        if (blocked > 0) {
            result = many ? PyObject_CallFunctionObjArgs(LOCK_REFUSED, (PyObject *)ev, ids, user,
                                                         now, NULL)
                          : refused(OP_LOCK, 1, ids, user, current, now, ev);
        }
        if (blocked) {
            goto done;
        }
    }
    deadline = deadline_from(c, now);
    token = deadline ? PyLong_FromLongLong(ev->tokens + 1) : NULL;
    if (token == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        /* a dict fails here only for want of memory (MemoryError, as in Python) */
        if (PyDict_SetItem(ev->state, seats[i], deadline) < 0 ||
            PyDict_SetItem(ev->holder, seats[i], user) < 0 ||
            PyDict_SetItem(ev->token, seats[i], token) < 0) {
            goto done;
        }
    }
    ev->tokens += 1;
    if (enqueue(ev, seats, n, deadline, many ? ids : NULL) < 0) {
        goto done;
    }
    result = many ? new_result(OP_LOCK_BULK, RS_OK, ids, user, label, deadline, token)
                  : new_result(OP_LOCK, RS_OK, ids, user, Py_None, deadline, token);
done:
    mutex_release(ev);
    Py_XDECREF(now);
    Py_XDECREF(deadline);
    Py_XDECREF(token);
    return result;
}

/* Book (is_book) or cancel seats ``user`` holds live. */
static PyObject *
do_release(Calls *c, PyObject *ids, int many, PyObject *user, PyObject *label, int is_book)
{
    EventCore *ev = c->ev;
    PyObject *result = NULL, *now = NULL;
    PyObject *op = many ? (is_book ? OP_BOOK_BULK : OP_CANCEL_BULK)
                        : (is_book ? OP_BOOK : OP_CANCEL);
    SEATS_OF(ids, many, n, seats);
    if (mutex_acquire(ev) < 0) {
        return NULL;
    }
    now = clock_now(c);
    if (now == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *current = PyDict_GetItemWithError(ev->state, seats[i]);
        if (current == NULL && PyErr_Occurred()) {
            goto done;
        }
        int may = holds_live(ev, seats[i], user, current, now);
        if (may == 0) {
            result = many ? PyObject_CallFunctionObjArgs(RELEASE_REFUSED, (PyObject *)ev, op, ids,
                                                         user, now, NULL)
                          : refused(op, 0, ids, user, current, now, ev);
        }
        if (may <= 0) {
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyDict_SetItem(ev->state, seats[i], is_book ? BOOKED : FREE) < 0 ||
            (!is_book && PyDict_DelItem(ev->holder, seats[i]) < 0)) {
            goto done;
        }
    }
    result = new_result(op, RS_OK, ids, user, many ? label : Py_None, Py_None, Py_None);
done:
    mutex_release(ev);
    Py_XDECREF(now);
    return result;
}

/* -- the methods -- */

/* The store-level calls take their arguments by position only. */
static int
nargs_ok(const char *name, Py_ssize_t nargs, Py_ssize_t want, PyObject *kwnames)
{
    if (nargs == want && (kwnames == NULL || PyTuple_GET_SIZE(kwnames) == 0)) {
        return 1;
    }
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd positional arguments (%zd given%s)",
                 name, want, nargs, kwnames && PyTuple_GET_SIZE(kwnames) ? ", with keywords" : "");
    return 0;
}

/* The two arguments of a manager-level call, by position or by name (``first`` and
   "user_id"), as the Python method would take them: 1, or 0 with TypeError. */
static int
two_args(const char *name, const char *first, PyObject *const *args, Py_ssize_t nargs,
         PyObject *kwnames, PyObject **a0, PyObject **a1)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs == 2 && nkw == 0) {
        *a0 = args[0];
        *a1 = args[1];
        return 1;
    }
    PyObject *got[2] = {NULL, NULL};
    const char *names[2] = {first, "user_id"};
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 2 positional arguments but %zd were given",
                     name, nargs);
        return 0;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        got[i] = args[i];
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int at = PyUnicode_CompareWithASCIIString(key, first) == 0     ? 0
                 : PyUnicode_CompareWithASCIIString(key, "user_id") == 0 ? 1
                                                                         : -1;
        if (at < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", name,
                         key);
            return 0;
        }
        if (got[at] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", name,
                         names[at]);
            return 0;
        }
        got[at] = args[nargs + k];
    }
    for (int i = 0; i < 2; i++) {
        if (got[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument: '%s'", name,
                         names[i]);
            return 0;
        }
    }
    *a0 = got[0];
    *a1 = got[1];
    return 1;
}

/* The manager-level calls: (seat_id, user_id) or, when ``many``, (seat_ids, user_id). */
#define MANAGER_CALL(name, first, many, body)                                                \
    static PyObject *calls_##name(Calls *c, PyObject *const *args, Py_ssize_t nargs,         \
                                  PyObject *kwnames)                                         \
    {                                                                                        \
        PyObject *ids_in, *user_in;                                                          \
        if (!two_args(#name, first, args, nargs, kwnames, &ids_in, &user_in)) {              \
            return NULL;                                                                     \
        }                                                                                    \
        PyObject *ids = (many) ? seat_ids_arg(ids_in) : seat_arg(ids_in);                    \
        if (ids == NULL) {                                                                   \
            return NULL;                                                                     \
        }                                                                                    \
        PyObject *user = user_arg(user_in);                                                  \
        PyObject *label = user == NULL ? NULL                                                \
                          : (many)     ? bulk_label(ids_in)                                  \
                                       : Py_NewRef(Py_None);                                 \
        PyObject *result = label ? body : NULL;                                              \
        Py_DECREF(ids);                                                                      \
        Py_XDECREF(user);                                                                    \
        Py_XDECREF(label);                                                                   \
        return result;                                                                       \
    }

MANAGER_CALL(lock_seat, "seat_id", 0, do_lock(c, ids, 0, user, label))
MANAGER_CALL(book_a_seat, "seat_id", 0, do_release(c, ids, 0, user, label, 1))
MANAGER_CALL(cancel_lock, "seat_id", 0, do_release(c, ids, 0, user, label, 0))
MANAGER_CALL(lock_seats_bulk, "seat_ids", 1, do_lock(c, ids, 1, user, label))
MANAGER_CALL(book_seats_bulk, "seat_ids", 1, do_release(c, ids, 1, user, label, 1))
MANAGER_CALL(cancel_locks_bulk, "seat_ids", 1, do_release(c, ids, 1, user, label, 0))

/* The store-level calls: (seat_id, user_id) or (seat_ids tuple, user_id, label), checked. */
#define STORE_CALL(name, n, body)                                                            \
    static PyObject *calls_##name(Calls *c, PyObject *const *args, Py_ssize_t nargs,         \
                                  PyObject *kwnames)                                         \
    {                                                                                        \
        if (!nargs_ok(#name, nargs, n, kwnames)) {                                           \
            return NULL;                                                                     \
        }                                                                                    \
        if (n == 3 && !PyTuple_CheckExact(args[0])) {                                        \
            PyErr_SetString(PyExc_TypeError, #name "() takes a tuple of checked seat ids");  \
            return NULL;                                                                     \
        }                                                                                    \
        return body;                                                                         \
    }

STORE_CALL(lock, 2, do_lock(c, args[0], 0, args[1], NULL))
STORE_CALL(book, 2, do_release(c, args[0], 0, args[1], NULL, 1))
STORE_CALL(cancel, 2, do_release(c, args[0], 0, args[1], NULL, 0))
STORE_CALL(lock_many, 3, do_lock(c, args[0], 1, args[1], args[2]))
STORE_CALL(book_many, 3, do_release(c, args[0], 1, args[1], args[2], 1))
STORE_CALL(cancel_many, 3, do_release(c, args[0], 1, args[1], args[2], 0))

#define CALL_METHOD(name, doc) {#name, (PyCFunction)(void (*)(void))calls_##name, \
                                METH_FASTCALL | METH_KEYWORDS, doc}
static PyMethodDef calls_methods[] = {
    CALL_METHOD(lock_seat, "SeatManager.lock_seat, arguments checked here."),
    CALL_METHOD(book_a_seat, "SeatManager.book_a_seat, arguments checked here."),
    CALL_METHOD(cancel_lock, "SeatManager.cancel_lock, arguments checked here."),
    CALL_METHOD(lock_seats_bulk, "SeatManager.lock_seats_bulk, arguments checked here."),
    CALL_METHOD(book_seats_bulk, "SeatManager.book_seats_bulk, arguments checked here."),
    CALL_METHOD(cancel_locks_bulk, "SeatManager.cancel_locks_bulk, arguments checked here."),
    CALL_METHOD(lock, "EventStore.lock (arguments already checked)."),
    CALL_METHOD(book, "EventStore.book (arguments already checked)."),
    CALL_METHOD(cancel, "EventStore.cancel (arguments already checked)."),
    CALL_METHOD(lock_many, "EventStore.lock_many (arguments already checked)."),
    CALL_METHOD(book_many, "EventStore.book_many (arguments already checked)."),
    CALL_METHOD(cancel_many, "EventStore.cancel_many (arguments already checked)."),
    {NULL},
};

static PyObject *
calls_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"event", "lock_timeout", "clock", NULL};
    PyObject *event, *timeout, *clock;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "seatlock.stores._memory_core is not configured");
        return NULL;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OO:Calls", names, EVENT_CORE, &event,
                                     &timeout, &clock)) {
        return NULL;
    }
    Calls *c = (Calls *)type->tp_alloc(type, 0);
    if (c == NULL) {
        return NULL;
    }
    c->ev = (EventCore *)Py_NewRef(event);
    c->timeout = Py_NewRef(timeout);
    c->clock = clock == MONOTONIC ? NULL : Py_NewRef(clock);
    if (PyFloat_CheckExact(timeout) || PyLong_CheckExact(timeout)) {
        c->timeout_d = PyFloat_AsDouble(timeout);
        c->timeout_fast = !(c->timeout_d == -1.0 && PyErr_Occurred());
        PyErr_Clear(); /* an int too large for a float adds the slow way, and fails there */
    }
    return (PyObject *)c;
}

static int
calls_traverse(Calls *c, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(c));
    Py_VISIT(c->ev);
    Py_VISIT(c->timeout);
    Py_VISIT(c->clock);
    return 0;
}

static int
calls_clear(Calls *c)
{
    Py_CLEAR(c->ev);
    Py_CLEAR(c->timeout);
    Py_CLEAR(c->clock);
    return 0;
}

static void
calls_dealloc(Calls *c)
{
    PyTypeObject *type = Py_TYPE(c);
    PyObject_GC_UnTrack(c);
    calls_clear(c);
    type->tp_free(c);
    Py_DECREF(type);
}

static PyType_Slot calls_slots[] = {
    {Py_tp_doc, "Calls(event, lock_timeout, clock): one manager's operations on an event."},
    {Py_tp_new, calls_new},
    {Py_tp_dealloc, calls_dealloc},
    {Py_tp_traverse, calls_traverse},
    {Py_tp_clear, calls_clear},
    {Py_tp_methods, calls_methods},
    {0, NULL},
};

static PyType_Spec calls_spec = {
    "seatlock.stores._memory_core.Calls",
    sizeof(Calls),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    calls_slots,
};

/* ---- configure ---------------------------------------------------------------------- */

static int
take(PyObject *ns, const char *name, PyObject **slot)
{
    PyObject *v = PyDict_GetItemString(ns, name);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "configure() needs %s", name);
        return -1;
    }
    Py_XSETREF(*slot, Py_NewRef(v));
    return 0;
}

/* The offset of Result's slot ``name``: it must be a plain object slot. */
static int
slot_offset(const char *name, Py_ssize_t *offset)
{
    PyObject *d = PyObject_GetAttrString((PyObject *)RESULT, name);
    if (d == NULL) {
        return -1;
    }
    int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) &&
             ((PyMemberDescrObject *)d)->d_member->type == Py_T_OBJECT_EX &&
             ((PyMemberDescrObject *)d)->d_common.d_type == RESULT;
    if (ok) {
        *offset = ((PyMemberDescrObject *)d)->d_member->offset;
    }
    Py_DECREF(d);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "Result.%s is not a __slots__ slot of Result", name);
        return -1;
    }
    return 0;
}

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *ns)
{
    if (!PyDict_Check(ns)) {
        PyErr_SetString(PyExc_TypeError, "configure() takes a dict");
        return NULL;
    }
    PyObject *result_type = NULL;
    if (take(ns, "FREE", &FREE) || take(ns, "BOOKED", &BOOKED) ||
        take(ns, "OP_LOCK", &OP_LOCK) || take(ns, "OP_LOCK_BULK", &OP_LOCK_BULK) ||
        take(ns, "OP_BOOK", &OP_BOOK) || take(ns, "OP_BOOK_BULK", &OP_BOOK_BULK) ||
        take(ns, "OP_CANCEL", &OP_CANCEL) || take(ns, "OP_CANCEL_BULK", &OP_CANCEL_BULK) ||
        take(ns, "OK", &RS_OK) || take(ns, "UNKNOWN_SEAT", &RS_UNKNOWN) ||
        take(ns, "ALREADY_BOOKED", &RS_BOOKED) || take(ns, "HELD_BY_OTHER", &RS_OTHER) ||
        take(ns, "HELD_BY_YOU", &RS_YOU) || take(ns, "NOT_LOCKED", &RS_NOT_LOCKED) ||
        take(ns, "check_seat_id", &CHECK_SEAT_ID) || take(ns, "check_user_id", &CHECK_USER_ID) ||
        take(ns, "check_seat_ids", &CHECK_SEAT_IDS) || take(ns, "bulk_label", &BULK_LABEL) ||
        take(ns, "lock_refused", &LOCK_REFUSED) ||
        take(ns, "release_refused", &RELEASE_REFUSED) ||
        take(ns, "enqueue_late", &ENQUEUE_LATE) || take(ns, "compact", &COMPACT) ||
        take(ns, "monotonic", &MONOTONIC) || take(ns, "Result", &result_type)) {
        Py_XDECREF(result_type);
        return NULL;
    }
    if (!PyType_Check(result_type)) {
        Py_DECREF(result_type);
        PyErr_SetString(PyExc_TypeError, "configure(): Result must be a class");
        return NULL;
    }
    Py_XSETREF(RESULT, (PyTypeObject *)result_type);
    if (slot_offset("_detail", &OFF_DETAIL) || slot_offset("_subject", &OFF_SUBJECT) ||
        slot_offset("deadline", &OFF_DEADLINE) || slot_offset("op", &OFF_OP) ||
        slot_offset("reason", &OFF_REASON) || slot_offset("token", &OFF_TOKEN) ||
        slot_offset("user_id", &OFF_USER)) {
        return NULL;
    }
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_O,
     "Hand over the enums, Result, checks and slow paths that the operations use."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "seatlock.stores._memory_core",
    "The memory store's hot paths in C (optional; see seatlock.stores.memory).",
    -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__memory_core(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    EVENT_CORE = (PyTypeObject *)PyType_FromSpec(&event_spec);
    PyObject *calls = PyType_FromSpec(&calls_spec);
    if (EVENT_CORE == NULL || calls == NULL ||
        PyModule_AddObjectRef(m, "EventCore", (PyObject *)EVENT_CORE) < 0 ||
        PyModule_AddObjectRef(m, "Calls", calls) < 0) {
        Py_XDECREF(calls);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(calls);
    return m;
}
