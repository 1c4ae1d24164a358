OPENQASM 2.0;
include "qelib1.inc";
// Parameterised gates of our own, nested, with every expression form.
gate rot(a, b) t { rz(a) t; ry(b / 2) t; rz(-a) t; }
gate ent(theta) x, y { cx x, y; rot(theta, theta ^ 2) y; cx x, y; }
gate layer(s) a, b, c { ent(s) a, b; ent(sin(s) + cos(s)) b, c; rot(ln(2) * s, sqrt(2) - exp(0.1)) a; }
gate wrap a, b, c { layer(0.25) a, b, c; barrier a, b; layer(-pi / 3) c, a, b; }
qreg q[3];
creg c[3];
h q[0];
wrap q[0], q[1], q[2];
U(0.1, 0.2, 0.3) q[1];
CX q[1], q[2];
layer(1.5e-1) q[2], q[0], q[1];
measure q -> c;
