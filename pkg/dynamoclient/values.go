package dynamoclient

// AttributeValue is one value of an item's attribute: one of the AttributeValueMember types,
// named and shaped as the SDK's (github.com/aws/aws-sdk-go-v2/service/dynamodb/types), so a
// store written against either reads the same.
type AttributeValue interface{ isAttributeValue() }

// AttributeValueMemberS is a string.
type AttributeValueMemberS struct{ Value string }

// AttributeValueMemberN is a number, in its decimal text.
type AttributeValueMemberN struct{ Value string }

// AttributeValueMemberB is binary.
type AttributeValueMemberB struct{ Value []byte }

// AttributeValueMemberSS is a set of strings.
type AttributeValueMemberSS struct{ Value []string }

// AttributeValueMemberNS is a set of numbers.
type AttributeValueMemberNS struct{ Value []string }

// AttributeValueMemberBS is a set of binaries.
type AttributeValueMemberBS struct{ Value [][]byte }

// AttributeValueMemberM is a map of named values.
type AttributeValueMemberM struct{ Value map[string]AttributeValue }

// AttributeValueMemberL is a list of values.
type AttributeValueMemberL struct{ Value []AttributeValue }

// AttributeValueMemberNULL is null (its Value is true).
type AttributeValueMemberNULL struct{ Value bool }

// AttributeValueMemberBOOL is a boolean.
type AttributeValueMemberBOOL struct{ Value bool }

func (*AttributeValueMemberS) isAttributeValue()    {}
func (*AttributeValueMemberN) isAttributeValue()    {}
func (*AttributeValueMemberB) isAttributeValue()    {}
func (*AttributeValueMemberSS) isAttributeValue()   {}
func (*AttributeValueMemberNS) isAttributeValue()   {}
func (*AttributeValueMemberBS) isAttributeValue()   {}
func (*AttributeValueMemberM) isAttributeValue()    {}
func (*AttributeValueMemberL) isAttributeValue()    {}
func (*AttributeValueMemberNULL) isAttributeValue() {}
func (*AttributeValueMemberBOOL) isAttributeValue() {}
