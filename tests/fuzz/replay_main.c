/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Corpus replay driver shared by every fuzz harness: without libFuzzer a
 * harness links with this main() and runs LLVMFuzzerTestOneInput() once
 * per file, so "make check" exercises the committed corpus under the
 * normal (or sanitizer) build.  With no arguments it replays every regular
 * file in CORPUS_DIR; otherwise the files and directories named.  Each
 * input sits in a heap block of exactly its size, so a read past the end
 * is caught by ASan or valgrind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CORPUS_DIR
#error "the build defines CORPUS_DIR, the directory replayed by default"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	replay_fd(int fd, const char *path, unsigned long *count);
static int	replay_path(const char *path, unsigned long *count);
static int	replay_entry(const char *dir, const char *name,
		    unsigned long *count);
static int	replay_dir(const char *path, unsigned long *count);

static int
replay_fd(int fd, const char *path, unsigned long *count)
{
	struct stat st;
	uint8_t *buf, *exact;
	size_t len = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* One byte more than the size, so a file that grew is noticed. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		return -1;
	}
	while (len <= (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)st.st_size) {
		fprintf(stderr, "%s: changed while being read\n", path);
		free(buf);
		return -1;
	}
	/* Exactly the input's size, so the redzone follows its last byte. */
	exact = malloc(len > 0 ? len : 1);
	if (exact == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	fprintf(stderr, "Running: %s\n", path);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	(*count)++;
	return 0;
}

/* Regular files only: subdirectories and the like are skipped. */
static int
replay_entry(const char *dir, const char *name, unsigned long *count)
{
	struct stat st;
	char *file;
	int rc = 0;

	if (asprintf(&file, "%s/%s", dir, name) == -1) {
		fprintf(stderr, "%s: out of memory\n", dir);
		return -1;
	}
	if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
		rc = replay_path(file, count);
	free(file);
	return rc;
}

/* In name order, so a log of the replay is the same on every machine. */
static int
replay_dir(const char *path, unsigned long *count)
{
	struct dirent **ents;
	int i, n, rc = 0;

	n = scandir(path, &ents, NULL, alphasort);
	if (n == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = replay_entry(path, ents[i]->d_name, count);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int
replay_path(const char *path, unsigned long *count)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return replay_dir(path, count);
	}
	rc = replay_fd(fd, path, count);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	int i;

	if (argc < 2) {
		if (replay_dir(CORPUS_DIR, &count) == -1)
			return 1;
	} else {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) == -1)
				return 1;
	}
	if (count == 0) {
		fprintf(stderr, "%s: no input to replay\n",
		    argc < 2 ? CORPUS_DIR : "arguments");
		return 1;
	}
	printf("replayed %lu inputs\n", count);
	return 0;
}
