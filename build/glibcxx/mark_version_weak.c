/* Marks one version requirement (e.g. GLIBCXX_3.4.32) in an ELF64 shared library's
 * version-needs section (SHT_GNU_verneed) as weak (VER_FLG_WEAK). The dynamic loader then
 * accepts a libstdc++ that does not define that version instead of refusing to load the
 * library. Usage: mark_version_weak FILE VERSION. Exit 0 when marked or already weak,
 * 3 when the file has no such requirement, 1 on an error. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s FILE VERSION\n", argv[0]); return 1; }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) { fprintf(stderr, "%s: not an ELF file\n", argv[1]); return 1; }
    unsigned char *base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    Elf64_Ehdr *eh = (Elf64_Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
        fprintf(stderr, "%s: not an ELF64 file\n", argv[1]); return 1;
    }
    if (eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > (size_t)st.st_size) { fprintf(stderr, "%s: bad section table\n", argv[1]); return 1; }
    Elf64_Shdr *sh = (Elf64_Shdr *)(base + eh->e_shoff);
    int status = 3;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        if (sh[i].sh_link >= eh->e_shnum) { fprintf(stderr, "bad sh_link\n"); return 1; }
        const char *strtab = (const char *)(base + sh[sh[i].sh_link].sh_offset);
        size_t off = sh[i].sh_offset, end = sh[i].sh_offset + sh[i].sh_size;
        for (;;) {
            if (off + sizeof(Elf64_Verneed) > end) break;
            Elf64_Verneed *vn = (Elf64_Verneed *)(base + off);
            size_t aoff = off + vn->vn_aux;
            for (int a = 0; a < vn->vn_cnt; a++) {
                if (aoff + sizeof(Elf64_Vernaux) > end) break;
                Elf64_Vernaux *va = (Elf64_Vernaux *)(base + aoff);
                if (strcmp(strtab + va->vna_name, argv[2]) == 0) {
                    va->vna_flags |= VER_FLG_WEAK;
                    status = 0;
                }
                if (va->vna_next == 0) break;
                aoff += va->vna_next;
            }
            if (vn->vn_next == 0) break;
            off += vn->vn_next;
        }
    }
    msync(base, st.st_size, MS_SYNC);
    munmap(base, st.st_size);
    close(fd);
    return status;
}
