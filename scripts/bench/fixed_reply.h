/* The fixed reply of the baseline line servers: a realistic rasnd answer, 188 bytes with LF. */
#ifndef BENCH_FIXED_REPLY_H
#define BENCH_FIXED_REPLY_H
#define FIXED_REPLY                                                                                     \
	"{\"query\":\"8.8.8.8\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"8.8.8.8\",\"asn\":15169,"         \
	"\"as_name\":\"Google LLC\",\"prefix\":\"8.8.8.0/24\",\"first_ip\":\"8.8.8.0\",\"last_ip\":\"8.8.8.255\"," \
	"\"cc\":\"US\",\"source\":\"table\"}\n"
#define FIXED_REPLY_LEN (sizeof(FIXED_REPLY) - 1)
#endif
