OPENQASM 2.0;
include "qelib1.inc";
// Several registers, broadcasting, reset, and a condition on a two-bit register.
qreg a[2];
qreg b[2];
creg first[2];
creg second[2];
h a;
cx a, b;
measure a -> first;
reset a[0];
if (first == 3) x a[0];
ry(0.4) b[1];
cz a[0], b[1];
h b;
measure b -> second;
measure a[1] -> first[1];
