/* Unit tests for common/: error codes and hex. */
#include "tests/unit/testutil.h"

#include "common/error.h"
#include "common/hex.h"

static void test_strerror_every_code_has_a_name(void **state)
{
	(void)state;
	for (int c = 0; c < WARD_E__COUNT; c++)
		assert_string_not_equal(ward_strerror((ward_err_t)c), "unknown error");
	assert_string_equal(ward_strerror((ward_err_t)999), "unknown error");
}

static void test_error_set_formats_and_returns_code(void **state)
{
	ward_error_t e = { 0 };
	(void)state;
	assert_int_equal(ward_error_set(&e, WARD_E_TRUNCATED, "at %d", 42), WARD_E_TRUNCATED);
	assert_int_equal(e.code, WARD_E_TRUNCATED);
	assert_string_equal(e.msg, "at 42");
	assert_int_equal(ward_error_set(NULL, WARD_E_IO, "x"), WARD_E_IO);
	ward_error_clear(&e);
	assert_int_equal(e.code, WARD_OK);
	assert_string_equal(e.msg, "");
}

static void test_hex_round_trip_and_rejects(void **state)
{
	uint8_t in[4] = { 0x00, 0xab, 0xCD, 0xff }, out[4];
	char hex[9];
	(void)state;
	ward_hex_encode(in, 4, hex);
	assert_string_equal(hex, "00abcdff");
	assert_true(ward_hex_decode("00ABcdFF", out, 4));
	assert_memory_equal(in, out, 4);
	assert_false(ward_hex_decode("00abcdf", out, 4));   /* short */
	assert_false(ward_hex_decode("00abcdfff", out, 4)); /* long */
	assert_false(ward_hex_decode("00abcdfg", out, 4));  /* not hex */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_every_code_has_a_name),
		cmocka_unit_test(test_error_set_formats_and_returns_code),
		cmocka_unit_test(test_hex_round_trip_and_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
