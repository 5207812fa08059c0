/* The exec benchmark's target: a static program with no libc that exits at once, so a
 * measured exec is the kernel's exec path and nothing else (see BENCH-NOTES). Built
 * by exec.sh with: cc -O2 -static -nostdlib. */
void _start(void);
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
