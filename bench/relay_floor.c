/* The userspace floor for bench/dataplane.py: a relay with no logic at all, in C.
 *
 * It moves packets through the same TUN devices and raw GRE sockets as pmip6's pump, but does no lookup, no
 * check and no counting: local side -> a fixed GRE header + the packet -> one peer; GRE -> strip the header
 * -> the TUN device. Socket I/O is batched (sendmmsg/recvmmsg, up to BATCH datagrams per system call); TUN
 * devices give one packet per read or write. What it reaches is what a forwarder of this shape can reach on
 * the machine (the kernel's work and the process wake-ups), so it tells how much of the gap to kernel
 * forwarding is pmip6's own. Built by bench/dataplane.py at run time; not part of pmip6.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 64
#define PACKET_SIZE 2048 /* the benchmark's packets are small */

static unsigned char packets[BATCH][PACKET_SIZE];

/* relay_local(tun_fd, gre_fd, peer_ipv4: bytes, gre_header: bytes, limit) -> packets relayed */
static PyObject *
relay_local(PyObject *module, PyObject *args)
{
    int tun, gre, limit, count = 0, read_now;
    Py_buffer peer, header;
    if (!PyArg_ParseTuple(args, "iiy*y*i", &tun, &gre, &peer, &header, &limit)) return NULL;
    struct sockaddr_in destination = {.sin_family = AF_INET};
    memcpy(&destination.sin_addr, peer.buf, peer.len < 4 ? peer.len : 4);
    struct mmsghdr messages[BATCH];
    struct iovec parts[BATCH][2];
    do {
        for (read_now = 0; read_now < BATCH; read_now++) {
            ssize_t size = read(tun, packets[read_now], PACKET_SIZE);
            if (size <= 0) break;
            parts[read_now][0] = (struct iovec){header.buf, (size_t)header.len};
            parts[read_now][1] = (struct iovec){packets[read_now], (size_t)size};
            messages[read_now] = (struct mmsghdr){.msg_hdr = {.msg_name = &destination,
                .msg_namelen = sizeof destination, .msg_iov = parts[read_now], .msg_iovlen = 2}};
        }
        if (read_now > 0) sendmmsg(gre, messages, read_now, 0);
        count += read_now;
    } while (read_now == BATCH && count < limit);
    PyBuffer_Release(&peer);
    PyBuffer_Release(&header);
    return PyLong_FromLong(count);
}

/* relay_tunnel(gre_fd, tun_fd, gre_header_size, limit) -> packets relayed (IPv4 raw sockets include the
 * IP header) */
static PyObject *
relay_tunnel(PyObject *module, PyObject *args)
{
    int gre, tun, header_size, limit, count = 0, received;
    if (!PyArg_ParseTuple(args, "iiii", &gre, &tun, &header_size, &limit)) return NULL;
    struct mmsghdr messages[BATCH];
    struct iovec parts[BATCH];
    do {
        for (int i = 0; i < BATCH; i++) {
            parts[i] = (struct iovec){packets[i], PACKET_SIZE};
            messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &parts[i], .msg_iovlen = 1}};
        }
        received = recvmmsg(gre, messages, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < received; i++) {
            unsigned start = (packets[i][0] & 0x0F) * 4 + header_size;
            if (messages[i].msg_len > start && write(tun, packets[i] + start, messages[i].msg_len - start) < 0) break;
        }
        count += received > 0 ? received : 0;
    } while (received == BATCH && count < limit);
    return PyLong_FromLong(count);
}

static PyMethodDef methods[] = {
    {"relay_local", relay_local, METH_VARARGS, NULL},
    {"relay_tunnel", relay_tunnel, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "relay_floor",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit_relay_floor(void)
{
    return PyModule_Create(&module);
}
