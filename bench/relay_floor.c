/* The userspace floor for bench/dataplane.py: a relay with no logic at all, in C.
 *
 * It moves packets through the same TUN devices and raw GRE sockets as pmip6's pump, but does no lookup, no
 * check and no counting: local side -> a fixed GRE header + the packet -> one peer; GRE -> strip the header
 * -> the TUN device. What it reaches is what any userspace forwarder of this shape can reach on the machine
 * (the kernel's work and the process wake-ups), so it tells how much of the gap to kernel forwarding is
 * pmip6's own. Built by bench/dataplane.py at run time; not part of pmip6.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BUFFER_SIZE 65536

/* relay_local(tun_fd, gre_fd, peer_ipv4: bytes, gre_header: bytes, batch) -> packets relayed */
static PyObject *
relay_local(PyObject *module, PyObject *args)
{
    int tun, gre, batch, count = 0;
    Py_buffer peer, header;
    if (!PyArg_ParseTuple(args, "iiy*y*i", &tun, &gre, &peer, &header, &batch)) return NULL;
    static unsigned char packet[BUFFER_SIZE];
    struct sockaddr_in destination = {.sin_family = AF_INET};
    memcpy(&destination.sin_addr, peer.buf, peer.len < 4 ? peer.len : 4);
    while (count < batch) {
        ssize_t size = read(tun, packet, sizeof packet);
        if (size <= 0) break;
        struct iovec parts[2] = {{header.buf, (size_t)header.len}, {packet, (size_t)size}};
        struct msghdr message = {.msg_name = &destination, .msg_namelen = sizeof destination, .msg_iov = parts,
                                 .msg_iovlen = 2};
        if (sendmsg(gre, &message, 0) >= 0) count++;
    }
    PyBuffer_Release(&peer);
    PyBuffer_Release(&header);
    return PyLong_FromLong(count);
}

/* relay_tunnel(gre_fd, tun_fd, gre_header_size, batch) -> packets relayed; IPv4 raw sockets include the IP
 * header. */
static PyObject *
relay_tunnel(PyObject *module, PyObject *args)
{
    int gre, tun, header_size, batch, count = 0;
    if (!PyArg_ParseTuple(args, "iiii", &gre, &tun, &header_size, &batch)) return NULL;
    static unsigned char packet[BUFFER_SIZE];
    while (count < batch) {
        ssize_t size = recv(gre, packet, sizeof packet, 0);
        if (size <= 0) break;
        ssize_t start = (packet[0] & 0x0F) * 4 + header_size;
        if (size > start && write(tun, packet + start, size - start) >= 0) count++;
    }
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
