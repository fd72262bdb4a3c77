/* The Mobility Header codec's fast path: the same messages, octet for octet, as pmip6.wire.mobility.
 *
 * pmip6.wire.mobility stays the reference. This module handles the well-formed common case only and
 * declines (returns None) everything else: malformed input, unknown MH types, values that do not fit
 * their fields, objects of other types. The caller then runs the pure-Python codec, which raises the
 * precise DecodeError / ValueError / TypeError. So this file never decides what is an error; it only
 * has to agree with the reference on what it accepts (tests/unit/wire/test_speedups.py checks that).
 *
 * Layouts: RFC 6275 sections 6.1.1, 6.1.7-6.1.9 and 6.2; RFC 5213 section 8; RFC 5844 section 3.3;
 * RFC 5845 section 6.1; RFC 5555 section 3.2.2; RFC 4283 section 3 (see pmip6/wire/option_codec.py).
 * Objects are made the way the dataclasses' own __init__ would leave them: tp_new, then each slot set
 * through its member descriptor.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#define MH_HEADER_LENGTH 6
#define MH_ALIGNMENT 8
#define MAX_MH_LENGTH 2048
#define PAYLOAD_PROTO_NONE 59
#define IPPROTO_MOBILITY_HEADER 135
#define FIRST_MH_TYPE 5 /* Binding Update; Acknowledgement and Error follow (RFC 6275 section 6.1) */
#define NO_DECLINED_TYPE 256
#define ALTERNATE_CARE_OF_ADDRESS 3 /* modelled in a Binding Update only, by the reference (RFC 6275 6.2.5) */
#define MAX_OPTIONS (MAX_MH_LENGTH / 2)
#define MAX_FIELDS 5
#define ENCODE_BUFFER (MAX_MH_LENGTH + 2 * MH_ALIGNMENT + 2 + 255)

/* Option classes, in the order pmip6.wire.accelerator passes them. */
enum {
    MN_IDENTIFIER, VENDOR_SPECIFIC, HOME_NETWORK_PREFIX, HANDOFF_INDICATOR, ACCESS_TECHNOLOGY_TYPE,
    MN_LINK_LAYER_IDENTIFIER, LINK_LOCAL_ADDRESS, TIMESTAMP, NAT_DETECTION, GRE_KEY,
    IPV4_HOME_ADDRESS_REQUEST, IPV4_HOME_ADDRESS_REPLY, IPV4_DEFAULT_ROUTER_ADDRESS, IPV4_DHCP_SUPPORT_MODE,
    UNKNOWN_OPTION, OPTION_KINDS
};
/* Message classes, likewise. */
enum { BINDING_UPDATE, BINDING_ACKNOWLEDGEMENT, BINDING_ERROR, MESSAGE_KINDS };

static const char *const OPTION_FIELDS[OPTION_KINDS][MAX_FIELDS] = {
    [MN_IDENTIFIER] = {"identifier", "subtype"},
    [VENDOR_SPECIFIC] = {"data"},
    [HOME_NETWORK_PREFIX] = {"prefix", "prefix_length"},
    [HANDOFF_INDICATOR] = {"value"},
    [ACCESS_TECHNOLOGY_TYPE] = {"value"},
    [MN_LINK_LAYER_IDENTIFIER] = {"identifier"},
    [LINK_LOCAL_ADDRESS] = {"address"},
    [TIMESTAMP] = {"seconds", "fraction"},
    [NAT_DETECTION] = {"force_udp", "refresh_time"},
    [GRE_KEY] = {"key"},
    [IPV4_HOME_ADDRESS_REQUEST] = {"address", "prefix_length"},
    [IPV4_HOME_ADDRESS_REPLY] = {"status", "address", "prefix_length"},
    [IPV4_DEFAULT_ROUTER_ADDRESS] = {"address"},
    [IPV4_DHCP_SUPPORT_MODE] = {"dhcp_server"},
    [UNKNOWN_OPTION] = {"type", "data"},
};
static const char *const MESSAGE_FIELDS[MESSAGE_KINDS][MAX_FIELDS] = {
    [BINDING_UPDATE] = {"sequence", "flags", "lifetime", "options"},
    [BINDING_ACKNOWLEDGEMENT] = {"status", "sequence", "flags", "lifetime", "options"},
    [BINDING_ERROR] = {"status", "home_address", "options"},
};
/* Where the options start: the 6-octet MH header plus each message's fixed part. */
static const int OPTIONS_OFFSET[MESSAGE_KINDS] = {12, 12, 24};

typedef struct {
    PyTypeObject *cls;
    PyObject *fields[MAX_FIELDS]; /* member descriptors, in OPTION_FIELDS / MESSAGE_FIELDS order */
    int count;
    int option_type, modulus, remainder; /* options only: Type octet, alignment xn+y */
} Kind;

static Kind options[OPTION_KINDS];
static Kind messages[MESSAGE_KINDS];
static int kind_of_type[256]; /* option Type octet -> kind, -1 for types without a class */
static PyObject *bu_flags, *ba_flags; /* flag bits -> flag object (dicts from pmip6.wire.mobility) */
static unsigned long bu_mask, ba_mask;
static PyTypeObject *ipv6_class, *ipv4_class;
static PyObject *all_zero_ipv6, *empty_tuple, *sixty_four;
static int configured;

static void put16(uint8_t *at, unsigned long long value);
static void put32(uint8_t *at, unsigned long long value);

/* --- helpers ------------------------------------------------------------------------------------ */

/* A new object of the kind, its slots set from ``values`` (references stolen, NULLs allowed only on
 * the error path where they are skipped). */
static PyObject *
make(const Kind *kind, PyObject **values)
{
    PyObject *object = NULL;
    int failed = 0;
    for (int i = 0; i < kind->count; i++) {
        if (values[i] == NULL) failed = 1;
    }
    if (!failed) object = kind->cls->tp_new(kind->cls, empty_tuple, NULL);
    for (int i = 0; i < kind->count; i++) {
        if (object != NULL && Py_TYPE(kind->fields[i])->tp_descr_set(kind->fields[i], object, values[i]) < 0) {
            Py_CLEAR(object);
        }
        Py_XDECREF(values[i]);
    }
    return object;
}

static PyObject *
field(const Kind *kind, int index, PyObject *object)
{
    PyObject *descriptor = kind->fields[index];
    return Py_TYPE(descriptor)->tp_descr_get(descriptor, object, (PyObject *)kind->cls);
}

/* 1 and *out set when ``value`` is an int in 0..maximum; 0 (decline) otherwise. */
static int
unsigned_in(PyObject *value, unsigned long long maximum, unsigned long long *out)
{
    if (!PyLong_Check(value)) return 0;
    unsigned long long number = PyLong_AsUnsignedLongLong(value);
    if (number == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (number > maximum) return 0;
    *out = number;
    return 1;
}

/* The field as an int in 0..maximum: 1 ok, 0 decline, -1 error. */
static int
unsigned_field(const Kind *kind, int index, PyObject *object, unsigned long long maximum,
               unsigned long long *out)
{
    PyObject *value = field(kind, index, object);
    if (value == NULL) return -1;
    int ok = unsigned_in(value, maximum, out);
    Py_DECREF(value);
    return ok;
}

/* An IPv6Address or IPv4Address (exactly that class) as its octets: 1 ok, 0 decline, -1 error. */
static int
address_octets(PyObject *address, PyTypeObject *address_class, uint8_t *out)
{
    if (Py_TYPE(address) != address_class) return 0;
    PyObject *number = PyNumber_Long(address);
    if (number == NULL) return -1;
    int ok;
    unsigned long long upper = 0, lower;
    if (address_class == ipv4_class) {
        ok = unsigned_in(number, 0xFFFFFFFFull, &lower);
    } else {
        PyObject *high = PyNumber_Rshift(number, sixty_four);
        lower = PyLong_AsUnsignedLongLongMask(number);
        ok = high == NULL || PyErr_Occurred() ? -1 : unsigned_in(high, UINT64_MAX, &upper);
        Py_XDECREF(high);
    }
    Py_DECREF(number);
    if (ok == 1 && address_class == ipv4_class) {
        put32(out, lower);
    } else if (ok == 1) {
        put32(out, upper >> 32), put32(out + 4, upper), put32(out + 8, lower >> 32), put32(out + 12, lower);
    }
    return ok;
}

static int
address_field(const Kind *kind, int index, PyObject *object, PyTypeObject *address_class, uint8_t *out)
{
    PyObject *address = field(kind, index, object);
    if (address == NULL) return -1;
    int ok = address_octets(address, address_class, out);
    Py_DECREF(address);
    return ok;
}

/* A bytes field (exactly bytes, as the reference's concatenation would produce). */
static int
bytes_field(const Kind *kind, int index, PyObject *object, PyObject **out)
{
    PyObject *value = field(kind, index, object);
    if (value == NULL) return -1;
    if (!PyBytes_CheckExact(value)) {
        Py_DECREF(value);
        return 0;
    }
    *out = value;
    return 1;
}

static int
truth_field(const Kind *kind, int index, PyObject *object)
{
    PyObject *value = field(kind, index, object);
    if (value == NULL) return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

static void
put16(uint8_t *at, unsigned long long value)
{
    at[0] = (uint8_t)(value >> 8);
    at[1] = (uint8_t)value;
}

static void
put32(uint8_t *at, unsigned long long value)
{
    put16(at, value >> 16);
    put16(at + 2, value);
}

static unsigned
get16(const uint8_t *at)
{
    return (unsigned)at[0] << 8 | at[1];
}

static unsigned long
get32(const uint8_t *at)
{
    return (unsigned long)get16(at) << 16 | get16(at + 2);
}

/* Pad1 or PadN of ``size`` octets (RFC 6275 sections 6.2.2-6.2.3). */
static Py_ssize_t
pad(uint8_t *at, int size)
{
    if (size == 1) {
        at[0] = 0;
    } else if (size > 1) {
        at[0] = 1;
        at[1] = (uint8_t)(size - 2);
        memset(at + 2, 0, size - 2);
    }
    return size;
}

/* --- encoding ----------------------------------------------------------------------------------- */

/* One option from its Type octet on, at ``at``: octets written, 0 decline, -1 error. */
static int
encode_option(int kind_index, PyObject *option, uint8_t *at)
{
    const Kind *kind = &options[kind_index];
    unsigned long long a, b, c;
    PyObject *data = NULL;
    int ok;
    at[0] = (uint8_t)kind->option_type;
    switch (kind_index) {
    case MN_IDENTIFIER:
    case VENDOR_SPECIFIC:
    case MN_LINK_LAYER_IDENTIFIER:
    case UNKNOWN_OPTION: {
        int fixed = 0;
        if (kind_index == MN_IDENTIFIER) {
            if ((ok = unsigned_field(kind, 1, option, 0xFF, &a)) <= 0) return ok;
            at[2] = (uint8_t)a;
            fixed = 1;
        } else if (kind_index == MN_LINK_LAYER_IDENTIFIER) {
            at[2] = at[3] = 0;
            fixed = 2;
        } else if (kind_index == UNKNOWN_OPTION) {
            if ((ok = unsigned_field(kind, 0, option, 0xFF, &a)) <= 0) return ok;
            if (a <= 1) return 0; /* Pad1/PadN are the encoder's own */
            at[0] = (uint8_t)a;
        }
        if ((ok = bytes_field(kind, kind_index == UNKNOWN_OPTION ? 1 : 0, option, &data)) <= 0) return ok;
        Py_ssize_t length = fixed + PyBytes_GET_SIZE(data);
        if (length <= 255) {
            at[1] = (uint8_t)length;
            memcpy(at + 2 + fixed, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
        }
        Py_DECREF(data);
        return length <= 255 ? (int)(2 + length) : 0;
    }
    case HOME_NETWORK_PREFIX:
        if ((ok = unsigned_field(kind, 1, option, 128, &a)) <= 0) return ok;
        if ((ok = address_field(kind, 0, option, ipv6_class, at + 4)) <= 0) return ok;
        at[1] = 18, at[2] = 0, at[3] = (uint8_t)a;
        return 20;
    case HANDOFF_INDICATOR:
    case ACCESS_TECHNOLOGY_TYPE:
        if ((ok = unsigned_field(kind, 0, option, 0xFF, &a)) <= 0) return ok;
        at[1] = 2, at[2] = 0, at[3] = (uint8_t)a;
        return 4;
    case LINK_LOCAL_ADDRESS:
        if ((ok = address_field(kind, 0, option, ipv6_class, at + 2)) <= 0) return ok;
        at[1] = 16;
        return 18;
    case TIMESTAMP:
        if ((ok = unsigned_field(kind, 0, option, (1ull << 48) - 1, &a)) <= 0) return ok;
        if ((ok = unsigned_field(kind, 1, option, 0xFFFF, &b)) <= 0) return ok;
        at[1] = 8;
        put16(at + 2, a >> 32), put32(at + 4, a), put16(at + 8, b);
        return 10;
    case NAT_DETECTION:
        if ((ok = unsigned_field(kind, 1, option, 0xFFFFFFFFull, &b)) <= 0) return ok;
        if ((ok = truth_field(kind, 0, option)) < 0) return ok;
        at[1] = 6;
        put16(at + 2, ok ? 0x8000 : 0), put32(at + 4, b);
        return 8;
    case GRE_KEY: {
        PyObject *key = field(kind, 0, option);
        if (key == NULL) return -1;
        if (key == Py_None) {
            Py_DECREF(key);
            at[1] = 2, at[2] = at[3] = 0;
            return 4;
        }
        ok = unsigned_in(key, 0xFFFFFFFFull, &a);
        Py_DECREF(key);
        if (ok <= 0) return ok;
        at[1] = 6, at[2] = at[3] = 0;
        put32(at + 4, a);
        return 8;
    }
    case IPV4_HOME_ADDRESS_REQUEST:
    case IPV4_HOME_ADDRESS_REPLY:
    case IPV4_DEFAULT_ROUTER_ADDRESS: {
        int address_index = kind_index == IPV4_HOME_ADDRESS_REPLY ? 1 : 0;
        a = b = 0;
        if (kind_index == IPV4_HOME_ADDRESS_REQUEST) {
            if ((ok = unsigned_field(kind, 1, option, 32, &c)) <= 0) return ok;
            a = c << 2;
        } else if (kind_index == IPV4_HOME_ADDRESS_REPLY) {
            if ((ok = unsigned_field(kind, 0, option, 0xFF, &a)) <= 0) return ok;
            if ((ok = unsigned_field(kind, 2, option, 32, &c)) <= 0) return ok;
            b = c << 2;
        }
        if ((ok = address_field(kind, address_index, option, ipv4_class, at + 4)) <= 0) return ok;
        at[1] = 6, at[2] = (uint8_t)a, at[3] = (uint8_t)b;
        return 8;
    }
    case IPV4_DHCP_SUPPORT_MODE:
        if ((ok = truth_field(kind, 0, option)) < 0) return ok;
        at[1] = 2;
        put16(at + 2, ok ? 1 : 0);
        return 4;
    }
    return 0;
}

/* The options after the fixed part, padded so the MH ends on 8 octets: the end offset, 0, -1. */
static Py_ssize_t
encode_options(PyObject *sequence, uint8_t *buffer, Py_ssize_t offset)
{
    if (!PyTuple_CheckExact(sequence) && !PyList_CheckExact(sequence)) return 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    PyObject **items = PySequence_Fast_ITEMS(sequence);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (offset > MAX_MH_LENGTH) return 0; /* too long already: the reference says so */
        int kind_index = 0;
        while (kind_index < OPTION_KINDS && Py_TYPE(items[i]) != options[kind_index].cls) kind_index++;
        if (kind_index == OPTION_KINDS) return 0;
        const Kind *kind = &options[kind_index];
        int padding = (int)(((kind->remainder - offset) % kind->modulus + kind->modulus) % kind->modulus);
        offset += pad(buffer + offset, padding);
        int written = encode_option(kind_index, items[i], buffer + offset);
        if (written <= 0) return written;
        offset += written;
    }
    if (offset > MAX_MH_LENGTH) return 0;
    return offset + pad(buffer + offset, (int)((MH_ALIGNMENT - offset % MH_ALIGNMENT) % MH_ALIGNMENT));
}

/* The message body (fixed part and options) at buffer[6:]: the MH length, 0 decline, -1 error. */
static Py_ssize_t
encode_body(int message_index, PyObject *message, uint8_t *buffer)
{
    const Kind *kind = &messages[message_index];
    unsigned long long value[4] = {0};
    uint8_t *fixed = buffer + MH_HEADER_LENGTH;
    int ok, options_index = kind->count - 1;
    /* integer fields: PBU seq, flags, lifetime; PBA status, seq, flags, lifetime; BE status */
    static const unsigned long long LIMIT[MESSAGE_KINDS][4] = {
        {0xFFFF, ULLONG_MAX, 0xFFFF}, {0xFF, 0xFFFF, ULLONG_MAX, 0xFFFF}, {0xFF}};
    int integers = message_index == BINDING_ERROR ? 1 : options_index;
    for (int i = 0; i < integers; i++) {
        if ((ok = unsigned_field(kind, i, message, LIMIT[message_index][i], &value[i])) <= 0) return ok;
    }
    if (message_index == BINDING_UPDATE) {
        put16(fixed, value[0]), put16(fixed + 2, value[1] & bu_mask), put16(fixed + 4, value[2]);
    } else if (message_index == BINDING_ACKNOWLEDGEMENT) {
        fixed[0] = (uint8_t)value[0], fixed[1] = (uint8_t)(value[2] & ba_mask);
        put16(fixed + 2, value[1]), put16(fixed + 4, value[3]);
    } else {
        fixed[0] = (uint8_t)value[0], fixed[1] = 0;
        if ((ok = address_field(kind, 1, message, ipv6_class, fixed + 2)) <= 0) return ok;
    }
    PyObject *sequence = field(kind, options_index, message);
    if (sequence == NULL) return -1;
    Py_ssize_t length = encode_options(sequence, buffer, OPTIONS_OFFSET[message_index]);
    Py_DECREF(sequence);
    return length;
}

/* RFC 6275 section 6.1.1: the checksum over the IPv6 pseudo-header (next header 135) and the MH. */
static unsigned
mh_checksum(const uint8_t *source, const uint8_t *destination, const uint8_t *mh, Py_ssize_t length)
{
    uint64_t sum = (uint64_t)length + IPPROTO_MOBILITY_HEADER;
    for (int i = 0; i < 16; i += 2) sum += get16(source + i) + get16(destination + i);
    for (Py_ssize_t i = 0; i + 1 < length; i += 2) sum += get16(mh + i);
    if (length % 2) sum += (unsigned)mh[length - 1] << 8;
    uint64_t remainder = sum % 0xFFFF;
    return (unsigned)(~(remainder ? remainder : 0xFFFF) & 0xFFFF);
}

static PyObject *
encode_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!configured || nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "encode_message(message, source, destination) after configure()");
        return NULL;
    }
    PyObject *message = args[0], *source = args[1], *destination = args[2];
    int message_index = 0;
    while (message_index < MESSAGE_KINDS && Py_TYPE(message) != messages[message_index].cls) message_index++;
    if (message_index == MESSAGE_KINDS) Py_RETURN_NONE;
    uint8_t buffer[ENCODE_BUFFER];
    Py_ssize_t length = encode_body(message_index, message, buffer);
    if (length <= 0 || length > MAX_MH_LENGTH) goto decline;
    buffer[0] = PAYLOAD_PROTO_NONE;
    buffer[1] = (uint8_t)(length / MH_ALIGNMENT - 1);
    buffer[2] = (uint8_t)(FIRST_MH_TYPE + message_index);
    buffer[3] = buffer[4] = buffer[5] = 0;
    if (source != Py_None && destination != Py_None) {
        uint8_t addresses[32];
        int ok = address_octets(source, ipv6_class, addresses);
        if (ok == 1) ok = address_octets(destination, ipv6_class, addresses + 16);
        if (ok <= 0) goto decline;
        put16(buffer + 4, mh_checksum(addresses, addresses + 16, buffer, length));
    }
    return PyBytes_FromStringAndSize((const char *)buffer, length);
decline: /* whatever went wrong, the reference codec says it precisely */
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* --- decoding ----------------------------------------------------------------------------------- */

static PyObject *
octets(const uint8_t *at, Py_ssize_t size)
{
    return PyBytes_FromStringAndSize((const char *)at, size);
}

static PyObject *
address(PyTypeObject *address_class, const uint8_t *at, Py_ssize_t size)
{
    PyObject *packed = octets(at, size);
    if (packed == NULL) return NULL;
    PyObject *result = PyObject_CallOneArg((PyObject *)address_class, packed);
    Py_DECREF(packed);
    return result;
}

/* One modelled option whose body is data[body:body+length]: 1 and *out, 0 decline, -1 error. */
static int
decode_option(int kind_index, const uint8_t *data, Py_ssize_t body, unsigned length, PyObject **out)
{
    const uint8_t *at = data + body;
    PyObject *values[MAX_FIELDS] = {NULL};
    switch (kind_index) {
    case MN_IDENTIFIER:
        if (length < 1) return 0;
        values[0] = octets(at + 1, length - 1), values[1] = PyLong_FromLong(at[0]);
        break;
    case VENDOR_SPECIFIC:
        values[0] = octets(at, length);
        break;
    case HOME_NETWORK_PREFIX: {
        static const uint8_t zero[16];
        if (length != 18 || at[1] > 128) return 0;
        if (memcmp(at + 2, zero, 16) == 0) {
            Py_INCREF(all_zero_ipv6);
            values[0] = all_zero_ipv6;
        } else {
            values[0] = address(ipv6_class, at + 2, 16);
        }
        values[1] = PyLong_FromLong(at[1]);
        break;
    }
    case HANDOFF_INDICATOR:
    case ACCESS_TECHNOLOGY_TYPE:
        if (length != 2) return 0;
        values[0] = PyLong_FromLong(at[1]);
        break;
    case MN_LINK_LAYER_IDENTIFIER:
        if (length < 2) return 0;
        values[0] = octets(at + 2, length - 2);
        break;
    case LINK_LOCAL_ADDRESS:
        if (length != 16) return 0;
        values[0] = address(ipv6_class, at, 16);
        break;
    case TIMESTAMP:
        if (length != 8) return 0;
        values[0] = PyLong_FromUnsignedLongLong((unsigned long long)get16(at) << 32 | get32(at + 2));
        values[1] = PyLong_FromLong(get16(at + 6));
        break;
    case NAT_DETECTION:
        if (length != 6) return 0;
        values[0] = PyBool_FromLong(get16(at) & 0x8000), values[1] = PyLong_FromUnsignedLong(get32(at + 2));
        break;
    case GRE_KEY:
        if (length == 2) {
            Py_INCREF(Py_None);
            values[0] = Py_None;
        } else if (length == 6) {
            values[0] = PyLong_FromUnsignedLong(get32(at + 2));
        } else {
            return 0;
        }
        break;
    case IPV4_HOME_ADDRESS_REQUEST:
        if (length != 6 || at[0] >> 2 > 32) return 0;
        values[0] = address(ipv4_class, at + 2, 4), values[1] = PyLong_FromLong(at[0] >> 2);
        break;
    case IPV4_HOME_ADDRESS_REPLY:
        if (length != 6 || at[1] >> 2 > 32) return 0;
        values[0] = PyLong_FromLong(at[0]), values[1] = address(ipv4_class, at + 2, 4), values[2] = PyLong_FromLong(at[1] >> 2);
        break;
    case IPV4_DEFAULT_ROUTER_ADDRESS:
        if (length != 6) return 0;
        values[0] = address(ipv4_class, at + 2, 4);
        break;
    case IPV4_DHCP_SUPPORT_MODE:
        if (length != 2) return 0;
        values[0] = PyBool_FromLong(get16(at) & 1);
        break;
    default:
        return 0;
    }
    *out = make(&options[kind_index], values);
    return *out == NULL ? -1 : 1;
}

/* The options in data[offset:end] as a tuple: 1 and *out, 0 decline (also at an option of type
 * ``declined_type``, which the reference models in this message only), -1 error. */
static int
decode_options(const uint8_t *data, Py_ssize_t offset, Py_ssize_t end, unsigned declined_type, PyObject **out)
{
    PyObject *items[MAX_OPTIONS];
    Py_ssize_t count = 0;
    int ok = 1;
    while (offset < end && ok == 1) {
        unsigned type = data[offset];
        if (type == 0) { /* Pad1 */
            offset += 1;
            continue;
        }
        if (offset + 1 == end || type == declined_type) {
            ok = 0;
            break;
        }
        unsigned length = data[offset + 1];
        Py_ssize_t body = offset + 2, next = body + length;
        if (next > end) {
            ok = 0;
            break;
        }
        PyObject *option = NULL;
        if (kind_of_type[type] >= 0) {
            ok = decode_option(kind_of_type[type], data, body, length, &option);
        } else if (type != 1) { /* not PadN: an option pmip6 does not model */
            PyObject *values[MAX_FIELDS] = {PyLong_FromLong(type), octets(data + body, length)};
            option = make(&options[UNKNOWN_OPTION], values);
            ok = option == NULL ? -1 : 1;
        }
        if (option != NULL) items[count++] = option; /* count < MAX_OPTIONS: each takes 2 octets */
        offset = next;
    }
    if (ok == 1) {
        *out = PyTuple_New(count);
        if (*out == NULL) ok = -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (ok == 1) {
            PyTuple_SET_ITEM(*out, i, items[i]);
        } else {
            Py_DECREF(items[i]);
        }
    }
    return ok;
}

static PyObject *
flags_object(PyObject *table, unsigned long bits)
{
    PyObject *key = PyLong_FromUnsignedLong(bits);
    if (key == NULL) return NULL;
    PyObject *flags = PyDict_GetItemWithError(table, key);
    Py_DECREF(key);
    if (flags == NULL && !PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "flag combination");
    Py_XINCREF(flags);
    return flags;
}

static PyObject *
decode_message(PyObject *module, PyObject *data_object)
{
    if (!configured) {
        PyErr_SetString(PyExc_TypeError, "decode_message() before configure()");
        return NULL;
    }
    if (!PyBytes_CheckExact(data_object)) Py_RETURN_NONE;
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(data_object);
    Py_ssize_t size = PyBytes_GET_SIZE(data_object);
    if (size < MH_ALIGNMENT || data[0] != PAYLOAD_PROTO_NONE || size != (data[1] + 1) * MH_ALIGNMENT) {
        Py_RETURN_NONE;
    }
    int message_index = data[2] - FIRST_MH_TYPE;
    if (message_index < 0 || message_index >= MESSAGE_KINDS || size < OPTIONS_OFFSET[message_index]) {
        Py_RETURN_NONE;
    }
    PyObject *options_tuple = NULL;
    unsigned declined_type = message_index == BINDING_UPDATE ? ALTERNATE_CARE_OF_ADDRESS : NO_DECLINED_TYPE;
    int ok = decode_options(data, OPTIONS_OFFSET[message_index], size, declined_type, &options_tuple);
    if (ok < 0) return NULL;
    if (ok == 0) Py_RETURN_NONE;
    const uint8_t *fixed = data + MH_HEADER_LENGTH;
    PyObject *values[MAX_FIELDS] = {NULL};
    switch (message_index) {
    case BINDING_UPDATE:
        values[0] = PyLong_FromLong(get16(fixed)), values[1] = flags_object(bu_flags, get16(fixed + 2) & bu_mask);
        values[2] = PyLong_FromLong(get16(fixed + 4)), values[3] = options_tuple;
        break;
    case BINDING_ACKNOWLEDGEMENT:
        values[0] = PyLong_FromLong(fixed[0]), values[1] = PyLong_FromLong(get16(fixed + 2));
        values[2] = flags_object(ba_flags, fixed[1] & ba_mask), values[3] = PyLong_FromLong(get16(fixed + 4));
        values[4] = options_tuple;
        break;
    default:
        values[0] = PyLong_FromLong(fixed[0]), values[1] = address(ipv6_class, fixed + 2, 16), values[2] = options_tuple;
    }
    return make(&messages[message_index], values);
}

/* --- configuration ------------------------------------------------------------------------------ */

static int
load_kind(Kind *kind, PyObject *cls, const char *const *names)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "configure(): expected a class");
        return -1;
    }
    Py_INCREF(cls);
    kind->cls = (PyTypeObject *)cls;
    for (kind->count = 0; kind->count < MAX_FIELDS && names[kind->count] != NULL; kind->count++) {
        PyObject *descriptor = PyDict_GetItemString(kind->cls->tp_dict, names[kind->count]);
        if (descriptor == NULL || Py_TYPE(descriptor)->tp_descr_set == NULL
                || Py_TYPE(descriptor)->tp_descr_get == NULL) {
            PyErr_Format(PyExc_TypeError, "configure(): %s has no slot %s", kind->cls->tp_name,
                         names[kind->count]);
            return -1;
        }
        Py_INCREF(descriptor);
        kind->fields[kind->count] = descriptor;
    }
    return 0;
}

PyDoc_STRVAR(configure_doc,
"configure(messages, options, bu_flags, bu_mask, ba_flags, ba_mask, ipv6_class, ipv4_class, all_zero_ipv6)\n\n"
"Once, from pmip6.wire.accelerator: ``messages`` the PBU, PBA and BE classes; ``options`` one\n"
"(class, Type octet, x, y) per option class in this module's order (alignment xn+y); the flag tables\n"
"of pmip6.wire.mobility.");

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *message_classes, *option_entries;
    unsigned long new_bu_mask, new_ba_mask;
    PyObject *new_bu_flags, *new_ba_flags, *new_ipv6, *new_ipv4, *new_zero;
    if (configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() runs once");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!O!O!kO!kOOO", &PyTuple_Type, &message_classes, &PyTuple_Type, &option_entries,
                          &PyDict_Type, &new_bu_flags, &new_bu_mask, &PyDict_Type, &new_ba_flags, &new_ba_mask,
                          &new_ipv6, &new_ipv4, &new_zero)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(message_classes) != MESSAGE_KINDS || PyTuple_GET_SIZE(option_entries) != OPTION_KINDS
            || !PyType_Check(new_ipv6) || !PyType_Check(new_ipv4)) {
        PyErr_SetString(PyExc_TypeError, "configure(): wrong number of classes");
        return NULL;
    }
    for (int i = 0; i < MESSAGE_KINDS; i++) {
        if (load_kind(&messages[i], PyTuple_GET_ITEM(message_classes, i), MESSAGE_FIELDS[i]) < 0) return NULL;
    }
    for (int i = 0; i < 256; i++) kind_of_type[i] = -1;
    for (int i = 0; i < OPTION_KINDS; i++) {
        PyObject *cls;
        Kind *kind = &options[i];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(option_entries, i), "Oiii", &cls, &kind->option_type,
                              &kind->modulus, &kind->remainder)
                || load_kind(kind, cls, OPTION_FIELDS[i]) < 0) {
            return NULL;
        }
        if (kind->modulus <= 0 || kind->option_type < 0 || kind->option_type > 255) {
            PyErr_SetString(PyExc_ValueError, "configure(): bad option entry");
            return NULL;
        }
        if (i != UNKNOWN_OPTION) kind_of_type[kind->option_type] = i;
    }
    Py_INCREF(new_bu_flags), Py_INCREF(new_ba_flags), Py_INCREF(new_ipv6), Py_INCREF(new_ipv4);
    Py_INCREF(new_zero);
    bu_flags = new_bu_flags, ba_flags = new_ba_flags, bu_mask = new_bu_mask, ba_mask = new_ba_mask;
    ipv6_class = (PyTypeObject *)new_ipv6, ipv4_class = (PyTypeObject *)new_ipv4, all_zero_ipv6 = new_zero;
    empty_tuple = PyTuple_New(0);
    sixty_four = PyLong_FromLong(64);
    if (empty_tuple == NULL || sixty_four == NULL) return NULL;
    configured = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(encode_doc,
"encode_message(message, source, destination) -> bytes | None\n\n"
"The MH octets, as pmip6.wire.mobility.encode_message would write them, or None to decline.");
PyDoc_STRVAR(decode_doc,
"decode_message(data: bytes) -> message | None\n\n"
"A PBU, PBA or BE exactly as pmip6.wire.mobility.decode_message would build it, or None to decline.");

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"encode_message", (PyCFunction)(void (*)(void))encode_message, METH_FASTCALL, encode_doc},
    {"decode_message", decode_message, METH_O, decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pmip6.wire._speedups",
    .m_doc = "The Mobility Header codec's fast path (see pmip6.wire.accelerator).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
