package recovery

// Clicked is what a click on a message's link needs for its redirect.
type Clicked struct {
	Cart     Cart
	Platform string
	// Code is the step's unique discount code, when registered.
	Code string
}

// Link is a click-through link's record.
type Link struct {
	Message MessageKey
	// Code is the static discount code the message offered ("": none, a
	// unique code, which the cart keeps, or a link saved before links kept
	// their code).
	Code string
}
